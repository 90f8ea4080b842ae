-- Pool workers' lives: a worker that dies mid-task fails that task alone
-- (WorkerLostError) and is replaced; maxtasksperchild; initializer.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function pidOf(name)
  for _, k in ipairs(mp.active_children()) do
    if k.name == name then return k.pid end
  end
end

-- wait polls cond for up to 10 seconds.
local function wait(cond, what)
  local deadline = time.monotonic() + 10
  while not cond() do
    if time.monotonic() > deadline then error("timed out waiting for " .. what, 2) end
    time.sleep(0.01)
  end
end

local function readFile(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Kill a worker mid-task: the task it held fails, the others complete,
-- a replacement starts, nothing hangs.
function test_worker_killed_mid_task()
  local pool = mp.Pool(2)
  local marker = os.tmpname()
  os.remove(marker)
  local r = pool:map_async(function(x)
    if x == 5 then
      local f = io.open(marker, "w")
      f:write(tostring(mp.current_process().pid))
      f:close()
      time.sleep(30)
    end
    return x * 2
  end, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 1)
  wait(function() return readFile(marker) ~= nil and readFile(marker) ~= "" end, "the task to start")
  local victimPid = tonumber(readFile(marker))
  os.remove(marker)
  local victim
  for _, k in ipairs(mp.active_children()) do
    if k.pid == victimPid then victim = k end
  end
  assert.truthy(victim, "the worker running item 5 is an active child")
  victim:kill()
  local e = assert.errtype(function() r:get(10) end, "WorkerLostError")
  local msg = tostring(e)
  assert.truthy(msg:find(victim.name, 1, true), msg)
  assert.truthy(msg:find("pid " .. victimPid, 1, true), msg)
  assert.truthy(msg:find("SIGKILL", 1, true), msg)
  assert.truthy(msg:find("item 5 of map_async", 1, true), msg)
  assert.eq(e.pid, victimPid); assert.eq(e.exitcode, -9); assert.eq(e.worker, victim.name)
  -- Replacements keep the pool at two workers, with new names.
  assert.eq(pool:map(function(x) return x + 1 end, {1, 2, 3}), {2, 3, 4})
  wait(function() return #mp.active_children() == 2 end, "two workers")
  assert.eq(pidOf(victim.name), nil, "the killed worker is gone")
  pool:terminate()
end

-- A worker that exits mid-imap fails its item; the other items complete
-- and imap shows each.
function test_worker_exits_mid_imap()
  local pool = mp.Pool(2)
  local it = pool:imap(function(x)
    if x == 3 then os.exit(3) end
    return x
  end, {1, 2, 3, 4, 5, 6}, 1)
  local got = {}
  for _ = 1, 6 do
    local ok, i, v = pcall(it)
    if ok then got[i] = v else got[#got + 1] = i end
  end
  assert.eq(got[1], 1); assert.eq(got[2], 2); assert.eq(got[4], 4); assert.eq(got[6], 6)
  assert.eq(got[3].type, "WorkerLostError")
  assert.truthy(tostring(got[3]):find("exited with code 3 while running item 3 of imap", 1, true), tostring(got[3]))
  pool:terminate()
end

-- A worker's exit code reaches the WorkerLostError; the pool works on.
function test_worker_exit_code()
  local pool = mp.Pool(2)
  local e2 = assert.errtype(function() pool:apply(function() os.exit(7) end) end, "WorkerLostError")
  assert.eq(e2.exitcode, 7)
  assert.eq(pool:apply(function() return "still works" end), "still works")
  pool:terminate()
end

-- Killing an idle worker: it is replaced, nothing fails. The pool learns
-- of the death at its next call (here ready(), until the replacement is
-- there); a task handed to the worker before that goes to another
-- (pool_requeue.lua).
function test_idle_worker_killed()
  local pool = mp.Pool(2)
  local first = pool:apply_async(function() return 1 end)
  assert.eq(first:get(10), 1)
  local victim = mp.active_children()[1]
  victim:kill()
  wait(function()
    first:ready()
    return pidOf(victim.name) == nil and #mp.active_children() == 2
  end, "a worker in place of the killed one")
  assert.eq(pool:map(function(x) return x end, {1, 2, 3, 4}, 1), {1, 2, 3, 4})
  pool:terminate()
end

-- maxtasksperchild: workers are replaced after n tasks; results right.
function test_maxtasksperchild()
  local p = mp.Pool{processes = 2, maxtasksperchild = 3}
  local pids = p:map(function() return mp.current_process().pid end, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 1)
  local distinct, n = {}, 0
  for _, pid in ipairs(pids) do
    if not distinct[pid] then distinct[pid] = true; n = n + 1 end
  end
  assert.between(n, 4, 12, "distinct workers for 12 tasks at 3 each")
  p:close()
  assert.eq(p:join(10), true)
end

-- Early close with maxtasksperchild = 1 (CPython's lifetime_early_close).
function test_early_close()
  local p = mp.Pool{processes = 1, maxtasksperchild = 1}
  local rs = {}
  for i = 1, 6 do rs[i] = p:apply_async(function(x) time.sleep(0.01) return x * x end, {i}) end
  p:close()
  assert.eq(p:join(10), true)
  for i = 1, 6 do assert.eq(rs[i]:get(0), i * i) end
end

-- initializer(unpack(initargs)) runs once per worker, replacements too.
function test_initializer()
  INIT_COUNT = 0
  local p = mp.Pool{processes = 2, initializer = function(a, b) INIT_VALUE = a .. b; INIT_COUNT = INIT_COUNT + 1 end, initargs = {"x", "y"}}
  assert.eq(p:map(function() return INIT_VALUE .. INIT_COUNT end, {1, 2, 3, 4}), {"xy1", "xy1", "xy1", "xy1"})
  assert.eq(INIT_VALUE, nil, "the initializer ran in the workers only")
  assert.errtype(function() p:apply(function() os.exit(1) end) end, "WorkerLostError")
  assert.eq(p:map(function() return INIT_VALUE .. INIT_COUNT end, {1, 2, 3, 4}, 1), {"xy1", "xy1", "xy1", "xy1"})
  p:terminate()
end

-- An initializer that fails: the pool gives up after a few tries and
-- fails its tasks, instead of starting workers forever.
function test_failing_initializer()
  local p = mp.Pool{processes = 1, initializer = function() error("no init") end}
  local e3 = assert.errtype(function() p:map(function(x) return x end, {1, 2, 3}, 1) end, "WorkerLostError")
  assert.errtype(function() p:apply(print) end, "WorkerLostError")
  p:terminate()
  assert.eq(#mp.active_children(), 0)
end

-- Limits: wall, the wall-clock time of a process or of a pool task. A
-- Process past it is ended (SIGTERM, then SIGKILL after a grace) and
-- its limit field says "wall"; a pool task past it fails with
-- TimeoutError, its worker ended and replaced. Catching errors (pcall)
-- does not escape it: the process is ended from outside.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function spin() while true do end end
local function stubborn() while true do pcall(spin) end end
local function pid() return mp.current_process().pid end

-- A pool task that spins past wall = 0.5 fails within 0.5 to 1.5
-- seconds, and the next task runs on a new worker.
function test_pool_task()
  local pool = mp.Pool{processes = 1, limits = {wall = 0.5}}
  local before = pool:apply(pid)
  local t0 = time.monotonic()
  local e = assert.errtype(function() pool:apply(spin) end, "TimeoutError")
  assert.between(time.monotonic() - t0, 0.5, 1.5, "seconds until the task failed")
  assert.eq(e.limit, "wall")
  assert.eq(e.pid, before, "the pid of the worker that was ended")
  assert.truthy(e.message:find("ran past its wall%-clock limit of 0.5 s"), e.message)
  assert.ne(pool:apply(pid), before, "the pid of the next task's worker")
  pool:close()
  assert.eq(pool:join(10), true)
end

-- A task that catches every error still ends at its limit.
function test_pool_pcall_does_not_escape()
  local pool = mp.Pool{processes = 1, limits = {wall = 0.5}}
  local t0 = time.monotonic()
  assert.errtype(function() pool:apply(stubborn) end, "TimeoutError")
  assert.between(time.monotonic() - t0, 0.5, 1.5, "seconds until the task failed")
  assert.eq(pool:apply(function() return "next" end), "next")
  pool:close()
  assert.eq(pool:join(10), true)
end

-- A call's own limit, on a pool with none: only that task is limited,
-- and the others of the pool run as long as they take.
function test_call_limit()
  local pool = mp.Pool{processes = 2}
  local slow = pool:apply_async(function() time.sleep(1) return "slow" end)
  local r = pool:apply_async(spin, {limits = {wall = 0.5}})
  local e = assert.errtype(function() r:get(10) end, "TimeoutError")
  assert.eq(e.limit, "wall")
  assert.eq(slow:get(10), "slow")
  pool:close()
  assert.eq(pool:join(10), true)
end

-- map with a wall limit runs an item per task: the runaway fails alone.
function test_map_items()
  local pool = mp.Pool{processes = 2, limits = {wall = 0.5}}
  local it = pool:imap(function(x)
    if x == 3 then spin() end
    return x * 10
  end, {1, 2, 3, 4, 5}, {limits = {wall = 0.5}})
  local got = {}
  for i = 1, 5 do
    local ok, at, v = pcall(it.next, it, 10)
    got[i] = ok and v or at.type
  end
  assert.eq(got, {10, 20, "TimeoutError", 40, 50})
  pool:close()
  assert.eq(pool:join(10), true)
end

-- A Process past its limit is ended by SIGTERM: exitcode -15, limit
-- "wall", however it catches errors.
function test_process()
  local p = mp.Process{target = stubborn, limits = {wall = 0.5}}
  local t0 = time.monotonic()
  p:start()
  p:join(10)
  assert.between(time.monotonic() - t0, 0.5, 1.5, "seconds until the process ended")
  assert.eq(p.exitcode, -15)
  assert.eq(p.limit, "wall")
end

-- A Process that ends in time has no limit to report.
function test_process_in_time()
  local p = mp.Process{target = function() time.sleep(0.1) end, limits = {wall = 5}}
  p:start()
  p:join(10)
  assert.eq(p.exitcode, 0)
  assert.eq(p.limit, nil)
  assert.errtype(function() p.limit = "wall" end, "AttributeError")
end

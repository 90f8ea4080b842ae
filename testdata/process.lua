-- Process: every method and field of mp.Process (docs/reference.md), with real children.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

-- A child checks things and reports by its exit code: 0 when all held.
local function run(f, ...)
  local p = mp.Process{target = f, args = table.pack(...)}
  p:start()
  p:join(10)
  return p.exitcode
end

local sleeper = function() time.sleep(30) end

-- Names: Process-N counts what this process created.
function test_names()
  local a = mp.Process{target = function() end}
  local b = mp.Process{target = function() end, name = "worker b"}
  assert.eq(a.name, "Process-1")
  assert.eq(b.name, "worker b")
  assert.eq(a.pid, nil, "pid before start")
  assert.eq(a.exitcode, nil, "exitcode before start")
  assert.falsy(a:is_alive(), "is_alive before start")
  assert.truthy(tostring(a):find("<Process name='Process%-1' parent=%d+ initial>"), tostring(a))
end

-- start, join, exitcode, repr; start twice is an AssertionError.
function test_start_join()
  local a = mp.Process{target = function() end}
  a:start()
  assert.truthy(type(a.pid) == "number" and a.pid > 0, "pid after start")
  a:join(10)
  assert.eq(a.exitcode, 0)
  assert.truthy(tostring(a):find("stopped exitcode=0"), tostring(a))
  assert.errtype(function() a:start() end, "AssertionError")
end

-- A grandchild is Process-N:1, and its parent is the child.
function test_grandchild_naming()
  assert.eq(run(function()
    local me = mp.current_process()
    if me.name ~= "Process-1" then os.exit(11) end
    if mp.parent_process().name ~= "MainProcess" then os.exit(12) end
    local g = mp.Process{target = function()
      if mp.current_process().name ~= "Process-1:1" then os.exit(13) end
      if mp.parent_process().name ~= "Process-1" then os.exit(14) end
    end}
    g:start(); g:join()
    os.exit(g.exitcode)
  end), 0, "grandchild naming")
end

-- Exit codes: an uncaught error is 1, os.exit(n) is n, os.exit(false) 1.
function test_exit_codes()
  assert.eq(run(function() error("deliberate") end), 1, "uncaught error")
  assert.eq(run(function() os.exit(7) end), 7, "os.exit(7)")
  assert.eq(run(function() os.exit(false) end), 1, "os.exit(false)")
  assert.eq(run(function() os.exit(true) end), 0, "os.exit(true)")
end

-- terminate is SIGTERM (-15), kill is SIGKILL (-9).
function test_terminate_and_kill()
  local t = mp.Process{target = sleeper}
  t:start()
  assert.truthy(t:is_alive())
  t:terminate()
  t:join(10)
  assert.eq(t.exitcode, -15, "terminate")
  assert.falsy(t:is_alive())
  local k = mp.Process{target = sleeper}
  k:start(); k:kill(); k:join(10)
  assert.eq(k.exitcode, -9, "kill")
  assert.truthy(tostring(k):find("exitcode=%-SIGKILL"), tostring(k))
end

-- join with a timeout returns while the child still runs.
function test_join_timeout_and_close()
  local slow = mp.Process{target = sleeper}
  slow:start()
  local t0 = time.monotonic()
  slow:join(0.2)
  assert.between(time.monotonic() - t0, 0.15, 5, "join(0.2) waited")
  assert.truthy(slow:is_alive(), "alive after join timeout")
  assert.eq(slow.exitcode, nil, "exitcode while running")
  slow:join{timeout = 0.05}
  assert.truthy(slow:is_alive())
  -- close: refused while running, then every method is a ValueError.
  assert.errtype(function() slow:close() end, "ValueError")
  slow:terminate(); slow:join()
  slow:close()
  slow:close()
  assert.errtype(function() slow:is_alive() end, "ValueError")
  assert.errtype(function() slow:join() end, "ValueError")
  assert.errtype(function() slow:terminate() end, "ValueError")
end

-- daemon: settable before start, an AssertionError after.
function test_daemon_flag()
  local d = mp.Process{target = sleeper, daemon = true}
  assert.eq(d.daemon, true)
  d.daemon = false
  d.daemon = true
  d:start()
  assert.errtype(function() d.daemon = false end, "AssertionError")
  assert.truthy(tostring(d):find(" daemon>"), tostring(d))
  d:terminate(); d:join()
end

-- Daemon processes may not start children.
function test_daemon_no_children()
  local dd = mp.Process{daemon = true, target = function()
    local ok, err = pcall(function() mp.Process{target = print}:start() end)
    os.exit((not ok and err.type == "AssertionError") and 0 or 5)
  end}
  dd:start(); dd:join(10)
  assert.eq(dd.exitcode, 0, "daemon starting a child")
end

-- The run form: run(self) is called with the process object, whose
-- attributes (set once made) travel with it.
function test_run_form()
  local r = mp.Process{run = function(self)
    if self.name ~= "runner" or self.extra ~= 42 then os.exit(21) end
    if self ~= mp.current_process() then os.exit(22) end
  end, name = "runner"}
  r.extra = 42
  r:start(); r:join(10)
  assert.eq(r.exitcode, 0, "run form")
  local attrs = mp.Process{target = print}
  attrs.note = "kept"
  assert.eq(attrs.note, "kept")
end

-- current_process, parent_process, active_children, cpu_count.
function test_module_functions()
  assert.eq(mp.current_process().name, "MainProcess")
  assert.eq(mp.current_process().daemon, false)
  assert.truthy(mp.current_process():is_alive())
  assert.eq(mp.parent_process(), nil)
  assert.truthy(mp.cpu_count() >= 1)
  local live = {}
  for i = 1, 3 do
    live[i] = mp.Process{target = sleeper}
    live[i]:start()
  end
  local kids = mp.active_children()
  assert.eq(#kids, 3, "active children")
  for i = 1, 3 do assert.truthy(kids[i] == live[i], "the same objects") end
  for i = 1, 3 do live[i]:kill(); live[i]:join() end
  assert.eq(#mp.active_children(), 0, "finished children are reaped")
end

function test_bad_arguments()
  assert.errtype(function() mp.Process{target = 42} end, "TypeError")
  assert.errtype(function() mp.Process{target = print, name = {}} end, "TypeError")
  assert.errtype(function() mp.Process{target = print}:join() end, "AssertionError")
  assert.errtype(function() mp.Process{target = print}:terminate() end, "AssertionError")
  local closed = mp.Process{target = function() end}
  closed:start(); closed:join(10); closed:close()
  assert.errtype(function() closed:join("soon") end, "ValueError")
  local a = mp.Process{target = function() end}
  a:start(); a:join(10)
  assert.errtype(function() a:join("soon") end, "TypeError")
end

-- The child kept ready for the next start (the idle child) is replaced
-- when it dies: killed from outside, it does not leave every later start
-- without one. It is a child of this process named procsh-worker that
-- this script did not start (one it started may still be ending after
-- its join).
local function idleChildren(started)
  local f = io.popen("cat /proc/" .. mp.current_process().pid .. "/task/*/children")
  assert.truthy(f, "io.popen")
  local out = f:read("*a")
  f:close()
  local idle = {}
  for pid in out:gmatch("%d+") do
    local cmd = io.open("/proc/" .. pid .. "/cmdline")
    local name = cmd and cmd:read("*a") or ""
    if cmd then cmd:close() end
    if name:find("^procsh%-worker") and not started[tonumber(pid)] then idle[#idle + 1] = tonumber(pid) end
  end
  return idle
end

local function gone(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if f then f:close() end
  return f == nil
end

function test_dead_idle_child_replaced()
  local started = {}
  local function startJoin()
    local p = mp.Process{target = function() end}
    p:start()
    started[p.pid] = true
    p:join(10)
    return p.exitcode
  end
  assert.eq(startJoin(), 0)
  local before = idleChildren(started)
  assert.eq(#before, 1, "one idle child after a start")
  assert.eq(os.execute("kill -KILL " .. before[1]), 0)
  local deadline = time.monotonic() + 10
  while not gone(before[1]) and time.monotonic() < deadline do time.sleep(0.01) end
  assert.truthy(gone(before[1]), "the killed idle child was reaped")
  assert.eq(startJoin(), 0)
  local after = idleChildren(started)
  assert.eq(#after, 1, "an idle child again after the next start")
  assert.truthy(after[1] ~= before[1], "a new one")
end

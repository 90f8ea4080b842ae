-- concurrent.futures: a worker killed mid-task. Where Python's executor
-- breaks (BrokenProcessPool for every pending future), only the future
-- that worker ran fails, with WorkerLostError; the worker is replaced
-- and the executor goes on.
local mp = require("multiprocessing")
local futures = require("concurrent.futures")
local time = require("time")
local assert = require("assert")

local function child(pid)
  for _, k in ipairs(mp.active_children()) do
    if k.pid == pid then return k end
  end
end

function test_worker_killed_mid_task()
  local ex = futures.ProcessPoolExecutor(2)
  local q = mp.Queue()
  local victim = ex:submit(function(q)
    q:put(mp.current_process().pid)
    time.sleep(30)
  end, q)
  local queued = {}
  for i = 1, 6 do queued[i] = ex:submit(function(x) time.sleep(0.05) return x end, i) end
  local pid = q:get(10)
  local worker = child(pid)
  assert.truthy(worker, "the worker running the task is an active child")
  worker:kill()
  local e = assert.errtype(function() victim:result(10) end, "WorkerLostError")
  assert.eq(e.pid, pid); assert.eq(e.exitcode, -9)
  assert.truthy(tostring(e):find("SIGKILL", 1, true), tostring(e))
  assert.eq(victim:exception(), e)
  assert.falsy(victim:cancelled())
  for i, f in ipairs(queued) do
    assert.eq(f:result(10), i, "future " .. i .. " of the same executor")
  end
  -- The executor is not broken: a new worker took the dead one's place.
  local pids = {}
  for _, f in ipairs({ex:submit(function() time.sleep(0.2) return mp.current_process().pid end),
                      ex:submit(function() time.sleep(0.2) return mp.current_process().pid end)}) do
    pids[#pids + 1] = f:result(10)
  end
  assert.ne(pids[1], pids[2], "two workers again")
  assert.ne(pids[1], pid); assert.ne(pids[2], pid)
  ex:shutdown()
end

-- A task that ends its worker with os.exit fails alone in the same way.
function test_task_exits_its_worker()
  local ex = futures.ProcessPoolExecutor(1)
  local f = ex:submit(function() os.exit(3) end)
  local e = assert.errtype(function() f:result(10) end, "WorkerLostError")
  assert.eq(e.exitcode, 3)
  assert.eq(ex:submit(function() return "after" end):result(10), "after")
  ex:shutdown()
end

-- A future once reported running stays running, and cannot be
-- cancelled, as in Python: even when its worker died before taking the
-- task, which then runs on another worker.
function test_running_stays_running_when_requeued()
  local ex = futures.ProcessPoolExecutor(1)
  local pid = ex:submit(function() return mp.current_process().pid end):result(10)
  assert.eq(os.execute("kill -STOP " .. pid), 0)
  local f = ex:submit(function(x) return x * 2 end, 21)
  local deadline = time.monotonic() + 10
  while not f:running() and time.monotonic() < deadline do time.sleep(0.01) end
  assert.truthy(f:running(), "handed to the stopped worker")
  assert.eq(os.execute("kill -KILL " .. pid), 0)
  -- The worker's death is seen, and the task given back, within this.
  time.sleep(0.5)
  assert.truthy(f:running(), "still running after the requeue")
  assert.eq(f:cancel(), false)
  assert.eq(f:result(30), 42)
  assert.falsy(f:running())
  ex:shutdown()
end

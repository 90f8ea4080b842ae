-- A pool worker killed while idle takes no task with it: a task handed to
-- it before the pool learns of its death goes to another worker, and runs
-- once.
local mp = require("multiprocessing")
local assert = require("assert")

function test_idle_worker_killed_then_map()
  local pool = mp.Pool(2)
  local n = 8
  local items = {}
  for i = 1, n do items[i] = i end
  for round = 1, 10 do
    -- Every worker that answered is idle once map returns, and ready.
    local pids = pool:map(function() return mp.current_process().pid end, {1, 2, 3, 4}, 1)
    local victim
    for _, k in ipairs(mp.active_children()) do
      if k.pid == pids[1 + round % 4] then victim = k end
    end
    assert.truthy(victim, "the worker that answered is an active child")
    local starts = mp.Array("i", n)
    victim:kill()
    -- At once: the pool may not know yet that the victim is dead.
    local got = pool:map(function(i)
      local lock = starts:get_lock()
      lock:acquire()
      starts[i] = starts[i] + 1
      lock:release()
      return i * 10
    end, items, 1)
    for i = 1, n do
      assert.eq(got[i], i * 10, "round " .. round .. ", item " .. i)
      assert.eq(starts[i], 1, "round " .. round .. ": the times item " .. i .. " started")
    end
  end
  pool:terminate()
end

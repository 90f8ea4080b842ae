-- A lock held by a live process is never taken from it, however the
-- others poll, and however pids look from here: this script also runs as a
-- whole tree inside a new pid namespace (TestLiveHolderInPidNamespace),
-- where /proc shows another namespace's processes. A holder killed
-- outright is recovered by polls that never wait long.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

function test_live_holder_keeps_its_locks()
  local lock, rlock = mp.Lock(), mp.RLock()
  local held, go = mp.Event(), mp.Event()

  local function holder()
    lock:acquire()
    rlock:acquire()
    held:set()
    go:wait(20)
    time.sleep(1)
    lock:release() -- fails if the lock was stolen
    rlock:release()
  end

  local p = mp.Process{target = holder, name = "holder"}
  p:start()
  assert.truthy(held:wait(20), "the holder took the locks")
  go:set()
  for _ = 1, 5 do
    assert.eq(lock:acquire(true, 0.05), false, "Lock taken from a live holder")
    assert.eq(rlock:acquire(false), false, "RLock taken from a live holder")
  end
  -- Waits long enough to look at the holder more than once.
  assert.eq(lock:acquire(true, 0.4), false, "Lock taken from a live holder")
  assert.eq(rlock:acquire(true, 0.3), false, "RLock taken from a live holder")
  p:join(20)
  assert.eq(p.exitcode, 0, "the holder released its locks")
  assert.truthy(lock:acquire(true, 5), "the Lock is free once released")
  lock:release()
end

-- A holder killed outright: a loop of short polls recovers its lock.
function test_killed_holder_recovered_by_polls()
  local lock, held = mp.Lock(), mp.Event()
  local dead = mp.Process{target = function()
    lock:acquire()
    held:clear()
    held:set()
    time.sleep(30)
  end, name = "doomed"}
  held:clear()
  dead:start()
  assert.truthy(held:wait(20), "the doomed holder took the lock")
  dead:kill()
  dead:join(10)
  local got = false
  for _ = 1, 100 do
    if lock:acquire(false) then got = true break end
    time.sleep(0.02)
  end
  assert.truthy(got, "acquire(false) recovered the lock of a killed holder")
  lock:release()
end

-- A Condition's waiter in the namespace gets its notify.
function test_condition_waiter_notified()
  local cond, held = mp.Condition(), mp.Event()
  local waiter = mp.Process{target = function()
    cond:acquire()
    held:set()
    assert.truthy(cond:wait(10), "notified")
    cond:release()
  end}
  held:clear()
  waiter:start()
  assert.truthy(held:wait(20))
  cond:acquire()
  cond:notify()
  cond:release()
  waiter:join(20)
  assert.eq(waiter.exitcode, 0)
end

-- Run whole (procsh testdata/sync_live_holder.lua), as
-- TestLiveHolderInPidNamespace runs it in a new pid namespace, the script
-- runs every test; the test runner (testdata/lib/runtest.lua) names one
-- and runs that.
if select("#", ...) == 0 then
  test_live_holder_keeps_its_locks()
  test_killed_holder_recovered_by_polls()
  test_condition_waiter_notified()
  print("live holder ok")
end

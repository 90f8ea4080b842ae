-- A process killed (SIGKILL) while holding a Lock or an RLock: a waiter
-- recovers it within about half a second and a warning names the dead
-- process. (Python deadlocks here.)
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function hold(l, e)
  l:acquire()
  e:set()
  time.sleep(30)
end

-- Lock: another process is already waiting when the holder dies.
function test_lock_recovered_by_a_waiter()
  -- expect stderr: procsh: warning: a Lock was held by holder (pid
  -- expect stderr: which died; recovered
  local lock = mp.Lock()
  local held = mp.Event()
  local holder = mp.Process{target = hold, args = {lock, held}, name = "holder"}
  holder:start()
  assert.truthy(held:wait(20), "holder took the lock")
  local waiter = mp.Process{target = function(l)
    local t = time.monotonic()
    assert.eq(l:acquire(true, 20), true, "recovered")
    assert.between(time.monotonic() - t, 0, 5)
    l:release()
  end, args = {lock}}
  waiter:start()
  time.sleep(0.1)
  local t0 = time.monotonic()
  holder:kill()
  waiter:join(30)
  assert.eq(waiter.exitcode, 0, "the waiter recovered the Lock")
  assert.between(time.monotonic() - t0, 0, 1.5, "recovered within about half a second")
  holder:join(10)
  assert.eq(holder.exitcode, -9)
  assert.falsy(lock:locked(), "released by the waiter")
end

-- RLock, taken recursively by the dead holder: this process recovers it
-- with depth 1.
function test_rlock_recovered_at_depth_1()
  -- expect stderr: procsh: warning: an RLock was held by rholder (pid
  -- expect stderr: which died; recovered
  local r = mp.RLock()
  local rheld = mp.Event()
  local rholder = mp.Process{target = function(l, e)
    l:acquire(); l:acquire(); l:acquire()
    e:set()
    time.sleep(30)
  end, args = {r, rheld}, name = "rholder"}
  rholder:start()
  assert.truthy(rheld:wait(20))
  assert.eq(r:acquire(false), false, "held by rholder")
  rholder:kill()
  local t0 = time.monotonic()
  assert.eq(r:acquire(true, 10), true, "recovered the RLock")
  assert.between(time.monotonic() - t0, 0, 1.5, "RLock recovered within about half a second")
  assert.eq(tostring(r), "<RLock(MainProcess, 1)>")
  r:release()
  assert.falsy(r:locked())
  rholder:join(10)
end

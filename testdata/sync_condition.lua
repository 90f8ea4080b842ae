-- Condition: wait/notify across processes, notify(n), notify_all,
-- wait_for with and without timeouts, ownership errors, given locks.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local procs = require("procs")
local start, finish = procs.start, procs.finish

-- wait and notify need the lock: AssertionError, as Python's.
function test_needs_the_lock()
  local c = mp.Condition()
  assert.eq(tostring(c), "<Condition(<RLock(None, 0)>)>")
  assert.errtype(function() c:wait(0.1) end, "AssertionError")
  assert.errtype(function() c:wait_for(function() return false end, 0.1) end, "AssertionError")
  assert.errtype(function() c:notify() end, "AssertionError")
  assert.errtype(function() c:notify_all() end, "AssertionError")
  -- A true predicate returns at once, without waiting.
  assert.eq(c:wait_for(function() return 42 end), 42)
end

function test_waits_time_out()
  local c = mp.Condition()
  assert.eq(c:acquire(), true)
  assert.eq(tostring(c), "<Condition(<RLock(MainProcess, 1)>)>")
  local t0 = time.monotonic()
  assert.eq(c:wait(0.2), false, "wait(0.2) without a notify")
  assert.between(time.monotonic() - t0, 0.15, 5, "wait(0.2) waited")
  assert.eq(c:wait{timeout = 0}, false)
  c:notify()
  c:notify{n = 3}
  c:notify_all()
  -- wait_for returns the predicate's last value when the time runs out.
  local calls = 0
  t0 = time.monotonic()
  assert.eq(c:wait_for(function() calls = calls + 1; return false end, 0.2), false)
  assert.between(time.monotonic() - t0, 0.15, 5, "wait_for(pred, 0.2) waited")
  assert.truthy(calls >= 2, "predicate called again after a wait")
  assert.eq(c:wait_for(function() return nil end, 0), nil)
  -- Waiting on an RLock taken twice releases it fully, then takes it back as deep.
  c:acquire()
  assert.eq(c:wait(0.05), false)
  assert.eq(tostring(c), "<Condition(<RLock(MainProcess, 2)>)>")
  c:release()
  c:release()
  assert.errtype(function() c:release() end, "AssertionError")
  assert.errtype(function() c:wait_for(function() return false end, "x") end, "TypeError")
  assert.errtype(function() c:wait_for(5) end, "TypeError")
end

-- Producer and consumers: 3 children wait_for a state the parent sets.
function test_consumers_wait_for()
  local c = mp.Condition()
  local state = mp.Value("i", 0, false)
  local consumers = {}
  for i = 1, 3 do
    consumers[i] = start(function(cv, st)
      cv:acquire()
      local got = cv:wait_for(function() return st.value >= 1 and st.value end, 20)
      cv:release()
      assert.eq(got, 1, "the predicate's value")
    end, c, state)
  end
  time.sleep(0.2)
  mp.with(c, function()
    state.value = 1
    c:notify_all()
  end)
  for i = 1, 3 do finish(consumers[i], "consumer " .. i) end
end

-- notify(1) wakes exactly one of three waiters; notify{n = 2} the rest.
function test_notify_n()
  local c = mp.Condition()
  local waiting = mp.Value("i", 0, false)
  local woken = mp.Value("i", 0, false)
  local ws = {}
  for i = 1, 3 do
    ws[i] = start(function(cv, wt, wk)
      cv:acquire()
      wt.value = wt.value + 1
      local ok = cv:wait(20)
      wk.value = wk.value + 1
      cv:release()
      assert.eq(ok, true, "notified")
    end, c, waiting, woken)
  end
  -- Each child counts itself while holding the lock and releases it only
  -- inside wait: seeing 3 under the lock means all three wait.
  local deadline = time.monotonic() + 20
  while mp.with(c, function() return waiting.value end) < 3 and time.monotonic() < deadline do
    time.sleep(0.01)
  end
  mp.with(c, function() c:notify() end)
  time.sleep(0.3)
  assert.eq(mp.with(c, function() return woken.value end), 1, "woken by notify()")
  mp.with(c, function() c:notify{n = 2} end)
  for i = 1, 3 do finish(ws[i], "waiter " .. i) end
  assert.eq(woken.value, 3)
end

-- On a given Lock (not re-entrant) and on a given RLock.
function test_given_locks()
  local lock = mp.Lock()
  local cl = mp.Condition(lock)
  assert.eq(tostring(cl), "<Condition(<Lock(owner=None)>)>")
  cl:acquire()
  assert.truthy(lock:locked(), "the Condition's lock is the Lock given")
  assert.eq(cl:acquire(false), false, "a Lock is not re-entrant")
  local p = start(function(cv, l)
    l:acquire()
    cv:notify()
    l:release()
  end, cl, lock)
  assert.eq(cl:wait(20), true, "notified by a child through the Lock")
  cl:release()
  finish(p, "notifier")
  local cr = mp.Condition{lock = mp.RLock()}
  assert.eq(tostring(cr), "<Condition(<RLock(None, 0)>)>")
  assert.errtype(function() mp.Condition(5) end, "TypeError")
end

-- A child can wait on a Condition the parent notifies, passed as a global.
function test_condition_as_a_global()
  shared_cond = mp.Condition()
  local flag = mp.Value("b", 0, false)
  local p = start(function(f)
    shared_cond:acquire()
    assert.truthy(shared_cond:wait_for(function() return f.value == 1 end, 20))
    shared_cond:release()
  end, flag)
  time.sleep(0.1)
  shared_cond:acquire()
  flag.value = 1
  shared_cond:notify()
  shared_cond:release()
  finish(p, "global condition")
end

function test_close()
  local c = mp.Condition()
  c:close()
  assert.errtype(function() c:acquire() end, "ValueError")
end

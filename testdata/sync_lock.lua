-- Lock: acquire/release/locked, timeouts, errors, with, close, and 4
-- processes × 25,000 increments under one Lock.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local procs = require("procs")
local start, finish = procs.start, procs.finish

function test_acquire_release()
  local lock = mp.Lock()
  assert.eq(tostring(lock), "<Lock(owner=None)>")
  assert.falsy(lock:locked())
  assert.eq(lock:acquire(), true)
  assert.truthy(lock:locked())
  assert.eq(tostring(lock), "<Lock(owner=MainProcess)>")
  -- A Lock is not re-entrant: a second acquire by its holder fails.
  assert.eq(lock:acquire(false), false, "acquire(false) while held")
  assert.eq(lock:acquire{block = false}, false, "acquire{block=false} while held")
  local t0 = time.monotonic()
  assert.eq(lock:acquire(true, 0.2), false, "acquire(true, 0.2) while held")
  assert.between(time.monotonic() - t0, 0.15, 5, "acquire(true, 0.2) waited")
  t0 = time.monotonic()
  assert.eq(lock:acquire{timeout = 0.2}, false)
  assert.between(time.monotonic() - t0, 0.15, 5, "acquire{timeout=0.2} waited")
  assert.eq(lock:acquire(true, -1), false, "negative timeout is 0")
  t0 = time.monotonic()
  assert.eq(lock:acquire(false, 5), false, "non-blocking ignores the timeout")
  assert.between(time.monotonic() - t0, 0, 1, "acquire(false, 5) did not wait")
  lock:release()
  assert.falsy(lock:locked())
  assert.eq(lock:acquire(true, 1), true)
  lock:release()
end

-- Releasing an unheld Lock is a ValueError.
function test_release_unheld()
  local lock = mp.Lock()
  assert.errtype(function() lock:release() end, "ValueError")
end

-- Any process may release a Lock (as Python's), and a child sees the
-- holder by name.
function test_child_releases()
  local lock = mp.Lock()
  lock:acquire()
  finish(start(function(l)
    assert.eq(tostring(l), "<Lock(owner=MainProcess)>")
    assert.eq(l:acquire(false), false)
    l:release()
  end, lock), "child releases the parent's Lock")
  assert.falsy(lock:locked(), "released by the child")
end

-- A child holding it: the parent's timed acquire waits, then succeeds once
-- the child releases.
function test_wait_for_a_child_holder()
  local lock = mp.Lock()
  local ev = mp.Event()
  local holder = start(function(l, e)
    l:acquire()
    e:set()
    time.sleep(0.3)
    l:release()
  end, lock, ev)
  assert.truthy(ev:wait(10))
  assert.truthy(tostring(lock):find("<Lock%(owner=Process%-%d+%)>"), tostring(lock))
  local t0 = time.monotonic()
  assert.eq(lock:acquire(true, 10), true, "acquire after the child releases")
  assert.between(time.monotonic() - t0, 0.05, 5, "waited for the child")
  lock:release()
  finish(holder, "holder")
end

-- mp.with: acquires, returns the function's values, releases even on error.
function test_with()
  local lock = mp.Lock()
  assert.eq(mp.with(lock, function(l)
    assert.truthy(l:locked())
    return 7
  end), 7)
  assert.falsy(lock:locked())
  assert.fails(function() mp.with(lock, function() error("inside") end) end, "inside")
  assert.falsy(lock:locked(), "released after an error")
end

function test_bad_arguments()
  local lock = mp.Lock()
  assert.errtype(function() lock:acquire(true, "x") end, "TypeError")
  assert.errtype(function() lock:acquire(true, 0 / 0) end, "ValueError")
end

-- Stress: 4 processes × 25,000 lock-protected increments.
function test_4_processes_increment()
  local lock = mp.Lock()
  local counter = mp.Value("i", 0, false)
  local function increment(l, v, n)
    for _ = 1, n do
      l:acquire()
      v.value = v.value + 1
      l:release()
    end
  end
  local ps = {}
  for i = 1, 4 do ps[i] = start(increment, lock, counter, 25000) end
  for i = 1, 4 do finish(ps[i], "incrementer " .. i) end
  assert.eq(counter.value, 100000, "4 × 25,000 increments")
end

-- The same through mp.with.
function test_2_processes_increment_with()
  local lock = mp.Lock()
  local counter = mp.Value("i", 0, false)
  local ps = {}
  for i = 1, 2 do
    ps[i] = start(function(l, v)
      for _ = 1, 5000 do mp.with(l, function() v.value = v.value + 1 end) end
    end, lock, counter)
  end
  for i = 1, 2 do finish(ps[i], "with incrementer " .. i) end
  assert.eq(counter.value, 10000, "2 × 5,000 increments with mp.with")
end

-- close frees it; later use in this process is a ValueError.
function test_close()
  local gone = mp.Lock()
  gone:close()
  gone:close()
  assert.errtype(function() gone:acquire() end, "ValueError")
  assert.errtype(function() gone:release() end, "ValueError")
  assert.errtype(function() gone:locked() end, "ValueError")
  assert.eq(tostring(gone), "<Lock closed>")
end

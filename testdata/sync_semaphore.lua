-- Semaphore and BoundedSemaphore: counting, timeouts, over-release, and a
-- Semaphore(2) that never admits a third holder.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local procs = require("procs")
local start, finish = procs.start, procs.finish

-- Default value 1; positional and options forms.
function test_make()
  local one = mp.Semaphore()
  assert.eq(one:get_value(), 1)
  assert.eq(mp.Semaphore{value = 3}:get_value(), 3)
  assert.eq(mp.Semaphore(0):get_value(), 0)
  assert.errtype(function() mp.Semaphore(-1) end, "ValueError")
  assert.errtype(function() mp.Semaphore(1.5) end, "ValueError")
  assert.errtype(function() mp.Semaphore("2") end, "TypeError")
end

function test_counting()
  local s = mp.Semaphore(2)
  assert.eq(tostring(s), "<Semaphore(value=2)>")
  assert.eq(s:acquire(), true)
  assert.eq(s:acquire(false), true)
  assert.eq(s:get_value(), 0)
  assert.eq(s:acquire(false), false, "acquire(false) at 0")
  assert.eq(s:acquire{block = false}, false)
  local t0 = time.monotonic()
  assert.eq(s:acquire(true, 0.2), false, "acquire(true, 0.2) at 0")
  assert.between(time.monotonic() - t0, 0.15, 5, "acquire(true, 0.2) waited")
  assert.eq(s:acquire{timeout = 0}, false)
  -- Non-blocking ignores the timeout, as Python's.
  t0 = time.monotonic()
  assert.eq(s:acquire(false, 5), false)
  assert.eq(s:acquire{block = false, timeout = 5}, false)
  assert.between(time.monotonic() - t0, 0, 1, "acquire(false, 5) did not wait")
  s:release()
  s:release()
  -- A plain Semaphore may be released above its initial value.
  s:release()
  assert.eq(s:get_value(), 3)
  assert.eq(tostring(s), "<Semaphore(value=3)>")
end

-- BoundedSemaphore: over-release is a ValueError.
function test_bounded_over_release()
  local b = mp.BoundedSemaphore(2)
  assert.eq(tostring(b), "<BoundedSemaphore(value=2, maxvalue=2)>")
  assert.errtype(function() b:release() end, "ValueError")
  b:acquire()
  assert.eq(tostring(b), "<BoundedSemaphore(value=1, maxvalue=2)>")
  b:release()
  assert.errtype(function() b:release() end, "ValueError")
  assert.eq(b:get_value(), 2)
  -- Over-release from another process too.
  finish(start(function(x)
    assert.errtype(function() x:release() end, "ValueError")
  end, b), "child over-release")
end

-- A release in another process wakes a waiter here.
function test_release_wakes_a_waiter()
  local z = mp.Semaphore(0)
  local p = start(function(x) time.sleep(0.1); x:release() end, z)
  assert.eq(z:acquire(true, 10), true, "woken by a child's release")
  finish(p, "releaser")
end

-- mp.with acquires and releases.
function test_with()
  local b = mp.BoundedSemaphore(2)
  mp.with(b, function() assert.eq(b:get_value(), 1) end)
  assert.eq(b:get_value(), 2)
end

-- Stress: Semaphore(2) never admits a third holder. Holders count
-- themselves in an in-arena Value under its own lock.
function test_never_a_third_holder()
  local sem = mp.Semaphore(2)
  local inside = mp.Value("i", 0)
  local most = mp.Value("i", 0)
  local function worker(sm, n, mx)
    for _ = 1, 150 do
      sm:acquire()
      local now = mp.with(n, function()
        n.value = n.value + 1
        if n.value > mx.value then mx.value = n.value end
        return n.value
      end)
      if now > 2 then os.exit(3) end
      for _ = 1, 2000 do end -- hold it a little
      mp.with(n, function() n.value = n.value - 1 end)
      sm:release()
    end
  end
  local ps = {}
  for i = 1, 4 do ps[i] = start(worker, sem, inside, most) end
  for i = 1, 4 do finish(ps[i], "semaphore worker " .. i) end
  assert.between(most.value, 1, 2, "most holders at once")
  assert.eq(inside.value, 0)
  assert.eq(sem:get_value(), 2)
end

function test_close()
  local sem = mp.Semaphore(2)
  sem:close()
  assert.errtype(function() sem:acquire() end, "ValueError")
end

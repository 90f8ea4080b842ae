-- RLock: re-entrant by its holder, released only by it, and 4 processes ×
-- 25,000 increments taking it recursively.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local procs = require("procs")
local start, finish = procs.start, procs.finish

function test_reentrant()
  local r = mp.RLock()
  assert.eq(tostring(r), "<RLock(None, 0)>")
  assert.falsy(r:locked())
  assert.eq(r:acquire(), true)
  assert.eq(r:acquire(false), true, "re-entrant acquire(false)")
  assert.eq(r:acquire{timeout = 0.1}, true, "re-entrant acquire{timeout}")
  assert.eq(tostring(r), "<RLock(MainProcess, 3)>")
  r:release()
  r:release()
  assert.truthy(r:locked(), "still held once")
  assert.eq(tostring(r), "<RLock(MainProcess, 1)>")
end

-- Another process can neither take it nor release it.
function test_only_the_holder_releases()
  local r = mp.RLock()
  r:acquire()
  finish(start(function(l)
    assert.truthy(tostring(l):find("<RLock%(MainProcess, nonzero%)>"), tostring(l))
    assert.eq(l:acquire(false), false)
    local t0 = time.monotonic()
    assert.eq(l:acquire(true, 0.2), false)
    assert.between(time.monotonic() - t0, 0.15, 5, "timed acquire waited")
    assert.errtype(function() l:release() end, "AssertionError")
  end, r), "child against the parent's RLock")
  assert.truthy(r:locked(), "still held after the child's attempt")
  r:release()
  assert.falsy(r:locked())
  -- Releasing it when nobody holds it is an AssertionError too, as Python's.
  assert.errtype(function() r:release() end, "AssertionError")
end

-- mp.with nests.
function test_with_nests()
  local r = mp.RLock()
  mp.with(r, function()
    mp.with(r, function()
      assert.eq(tostring(r), "<RLock(MainProcess, 2)>")
    end)
  end)
  assert.falsy(r:locked())
end

-- Stress: 4 processes × 25,000 increments, each taking the RLock twice.
function test_4_processes_increment()
  local r = mp.RLock()
  local counter = mp.Value("i", 0, false)
  local ps = {}
  for i = 1, 4 do
    ps[i] = start(function(l, v, n)
      for _ = 1, n do
        l:acquire()
        l:acquire()
        v.value = v.value + 1
        l:release()
        l:release()
      end
    end, r, counter, 25000)
  end
  for i = 1, 4 do finish(ps[i], "incrementer " .. i) end
  assert.eq(counter.value, 100000, "4 × 25,000 recursive increments")
  assert.falsy(r:locked())
end

function test_close()
  local r = mp.RLock()
  r:close()
  assert.errtype(function() r:acquire() end, "ValueError")
end

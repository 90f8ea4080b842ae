-- Event: set, clear, is_set, wait with and without timeouts, and an Event
-- set by a child waking 3 waiting processes.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local procs = require("procs")
local start, finish = procs.start, procs.finish

function test_set_clear_wait()
  local ev = mp.Event()
  assert.eq(tostring(ev), "<Event(unset)>")
  assert.eq(ev:is_set(), false)
  local t0 = time.monotonic()
  assert.eq(ev:wait(0.2), false, "wait(0.2) on an unset Event")
  assert.between(time.monotonic() - t0, 0.15, 5, "wait(0.2) waited")
  assert.eq(ev:wait{timeout = 0}, false)
  assert.eq(ev:wait(-1), false, "negative timeout is 0")
  ev:set()
  assert.eq(ev:is_set(), true)
  assert.eq(tostring(ev), "<Event(set)>")
  assert.eq(ev:wait(), true)
  assert.eq(ev:wait(0), true)
  ev:set()
  ev:clear()
  assert.eq(ev:is_set(), false)
  ev:clear()
end

-- One child sets it; three waiting processes all wake.
function test_child_wakes_three_waiters()
  local go = mp.Event()
  local ready = mp.Value("i", 0)
  local waiters = {}
  for i = 1, 3 do
    waiters[i] = start(function(e, r)
      mp.with(r, function() r.value = r.value + 1 end)
      local t = time.monotonic()
      assert.eq(e:wait(20), true, "waiter woken")
      assert.between(time.monotonic() - t, 0, 10, "woken promptly")
      assert.eq(e:is_set(), true)
    end, go, ready)
  end
  local setter = start(function(e, r)
    local deadline = time.monotonic() + 20
    while r.value < 3 and time.monotonic() < deadline do time.sleep(0.01) end
    time.sleep(0.05)
    e:set()
  end, go, ready)
  finish(setter, "setter")
  for i = 1, 3 do finish(waiters[i], "waiter " .. i) end
  assert.eq(go:is_set(), true)
end

-- A waiter that was waiting when set ran returns true even if cleared at
-- once.
function test_set_then_cleared()
  local flick = mp.Event()
  local w = start(function(e) assert.eq(e:wait(20), true) end, flick)
  time.sleep(0.2)
  flick:set()
  flick:clear()
  finish(w, "waiter of a set-then-cleared Event")
end

function test_close()
  local ev = mp.Event()
  ev:close()
  assert.errtype(function() ev:set() end, "ValueError")
  assert.errtype(function() ev:wait(0) end, "ValueError")
end

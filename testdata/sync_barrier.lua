-- Barrier: indices, the action (once per round, in one waiting process),
-- timeouts, abort, reset, a failing action, and 3 parties × 1,000 rounds.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local procs = require("procs")
local start, finish = procs.start, procs.finish

-- Wait (bounded) until a barrier has n waiters.
local function until_waiting(b, n)
  local deadline = time.monotonic() + 20
  while b.n_waiting < n and time.monotonic() < deadline do time.sleep(0.005) end
  assert.eq(b.n_waiting, n, "waiters")
end

function test_make()
  assert.errtype(function() mp.Barrier(0) end, "ValueError")
  assert.errtype(function() mp.Barrier(1.5) end, "ValueError")
  assert.errtype(function() mp.Barrier("3") end, "TypeError")
  assert.errtype(function() mp.Barrier(2, 5) end, "TypeError")
  local one = mp.Barrier(1)
  assert.eq(one:wait(), 0, "a barrier of one party")
  assert.eq(one:wait(0), 0)

  local b = mp.Barrier(3)
  assert.eq(b.parties, 3)
  assert.eq(b.n_waiting, 0)
  assert.eq(b.broken, false)
  assert.eq(tostring(b), "<Barrier parties=3 n_waiting=0 broken=false>")
end

-- Stress: 3 parties × 1,000 rounds. The action counts rounds; every party
-- checks after each wait that exactly its round has been counted, and
-- records its index: each index 0..2 must come up once per round.
function test_1000_rounds()
  local rounds = mp.Value("i", 0, false)
  local seen = mp.Array("i", 3)
  local rb = mp.Barrier(3, function() rounds.value = rounds.value + 1 end)
  local function party(bar, r, s, n)
    for i = 1, n do
      local idx = bar:wait(20)
      if r.value ~= i then
        io.stderr:write("round ", i, " saw counter ", r.value, "\n")
        os.exit(3)
      end
      mp.with(s, function() s[idx + 1] = s[idx + 1] + 1 end)
    end
  end
  local ps = {start(party, rb, rounds, seen, 1000), start(party, rb, rounds, seen, 1000)}
  party(rb, rounds, seen, 1000)
  for i = 1, 2 do finish(ps[i], "party " .. i) end
  assert.eq(rounds.value, 1000, "the action ran once per round")
  assert.eq(seen:totable(), {1000, 1000, 1000}, "each index once per round")
end

-- A wait that times out breaks the barrier for everyone.
function test_timeout_breaks_it()
  local tb = mp.Barrier(2)
  local t0 = time.monotonic()
  assert.errtype(function() tb:wait(0.2) end, "BrokenBarrierError")
  assert.between(time.monotonic() - t0, 0.15, 5, "wait(0.2) waited")
  assert.eq(tb.broken, true)
  assert.eq(tostring(tb), "<Barrier parties=2 n_waiting=0 broken=true>")
  assert.errtype(function() tb:wait(1) end, "BrokenBarrierError")
  tb:reset()
  assert.eq(tb.broken, false)
end

-- A timeout in one waiter is a BrokenBarrierError in the others too.
function test_timeout_reaches_other_waiters()
  local t3 = mp.Barrier(3)
  local p = start(function(x) assert.errtype(function() x:wait(20) end, "BrokenBarrierError") end, t3)
  until_waiting(t3, 1)
  assert.errtype(function() t3:wait(0.1) end, "BrokenBarrierError")
  finish(p, "waiter of a timed-out round")
  assert.eq(t3.broken, true)
end

-- The default timeout, positional and in the options form.
function test_default_timeout()
  local dt = mp.Barrier{parties = 2, timeout = 0.2}
  local t0 = time.monotonic()
  assert.errtype(function() dt:wait() end, "BrokenBarrierError")
  assert.between(time.monotonic() - t0, 0.15, 5, "default timeout")
  dt = mp.Barrier(2, nil, 0.2)
  assert.errtype(function() dt:wait() end, "BrokenBarrierError")
  -- A per-wait timeout overrides it.
  dt:reset()
  local p = start(function(x) time.sleep(0.4); x:wait(20) end, dt)
  assert.eq(dt:wait{timeout = 20}, 0, "first to arrive")
  finish(p, "late party")
end

-- abort: the waiter gets BrokenBarrierError, and so does every later wait
-- until reset.
function test_abort()
  local ab = mp.Barrier(2)
  local p = start(function(x) assert.errtype(function() x:wait(20) end, "BrokenBarrierError") end, ab)
  until_waiting(ab, 1)
  ab:abort()
  finish(p, "waiter of an aborted barrier")
  assert.eq(ab.broken, true)
  assert.errtype(function() ab:wait(1) end, "BrokenBarrierError")
  ab:reset()
  assert.eq(ab.broken, false)
  p = start(function(x) x:wait(20) end, ab)
  ab:wait(20)
  finish(p, "after reset the barrier works again")
end

-- reset while a process waits: it gets BrokenBarrierError; the barrier
-- is not broken afterwards.
function test_reset_while_waiting()
  local rs = mp.Barrier(2)
  local p = start(function(x) assert.errtype(function() x:wait(20) end, "BrokenBarrierError") end, rs)
  until_waiting(rs, 1)
  rs:reset()
  finish(p, "waiter of a reset barrier")
  assert.eq(rs.broken, false)
  assert.eq(rs.n_waiting, 0)
end

-- A failing action: the process that ran it (the last to arrive) gets the
-- error, the others BrokenBarrierError, and the barrier is broken.
function test_failing_action()
  local fb = mp.Barrier(2, function() error({type = "ActionError", message = "boom"}) end)
  local p = start(function(x) assert.errtype(function() x:wait(20) end, "BrokenBarrierError") end, fb)
  until_waiting(fb, 1)
  assert.errtype(function() fb:wait(20) end, "ActionError")
  finish(p, "waiter of a failed action")
  assert.eq(fb.broken, true)
end

-- The action runs in whichever process arrives last: here the child.
function test_action_runs_in_the_last_to_arrive()
  local where = mp.Array("i", 2, false)
  local wb = mp.Barrier(2, function() where[1] = require("multiprocessing").current_process().pid end)
  local p = start(function(x) x:wait(20) end, wb)
  time.sleep(0.2)
  wb:wait(20)
  assert.eq(where[1], mp.current_process().pid, "the action ran in the last to arrive")
  finish(p, "first to arrive")
  p = start(function(x) time.sleep(0.2); x:wait(20) end, wb)
  wb:wait(20)
  p:join(30)
  assert.eq(where[1], p.pid, "the action ran in the child, last to arrive")
end

function test_close()
  local b = mp.Barrier(3)
  b:close()
  assert.errtype(function() b:wait() end, "ValueError")
end

-- A put on an unbounded Queue never waits, as in Python: what the ring
-- cannot hold yet waits in the putting process and goes in, in order, as
-- readers make room; a process does not end before it has.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")
local procs = require("procs")

local item = string.rep("x", 1000)

-- A 4 KiB ring holds a few 1 KiB items; the other 196 wait in this process.
function test_puts_never_wait()
  local q = mp.Queue{ring_size = 4096}
  local t0 = time.monotonic()
  for i = 1, 200 do q:put(i .. ":" .. item) end
  assert.between(time.monotonic() - t0, 0, 2, "200 puts did not wait for a reader")
  assert.eq(q:qsize(), 200, "qsize counts the items still waiting here")
  assert.falsy(q:empty())
  local c = procs.start(function()
    for i = 1, 200 do
      local v = q:get(true, 10)
      if v ~= i .. ":" .. item then os.exit(2) end
    end
  end)
  procs.finish(c, "consumer got every item, in order")
  q:join_thread()
  assert.eq(q:qsize(), 0)
end

-- A child that puts more than the ring holds ends only once a reader has
-- taken them; after a second it says what it waits for (on stderr).
function test_process_ends_once_items_are_read()
  -- expect stderr: is waiting to put
  local q2 = mp.Queue{ring_size = 4096}
  local p = procs.start(function()
    for i = 1, 50 do q2:put(item) end
  end)
  time.sleep(2.5)
  assert.truthy(p:is_alive(), "the producer waits for its items to be read")
  for i = 1, 50 do assert.eq(q2:get(true, 10), item) end
  procs.finish(p, "producer ended once its items were read")
end

-- cancel_join_thread: the process ends at once and drops what is pending.
function test_cancel_join_thread()
  local q3 = mp.Queue{ring_size = 4096}
  local d = procs.start(function()
    q3:cancel_join_thread()
    for i = 1, 50 do q3:put(item) end
  end)
  d:join(5)
  assert.eq(d.exitcode, 0, "ended without waiting for a reader")
end

-- put_nowait on an unbounded Queue never raises Full either.
function test_put_nowait_never_full()
  local q4 = mp.Queue{ring_size = 4096}
  for i = 1, 20 do q4:put_nowait(item) end
  assert.eq(q4:qsize(), 20)
  for i = 1, 20 do assert.eq(q4:get(true, 5), item) end
end

-- Bounded queues and JoinableQueue keep Python's blocking put.
function test_bounded_put_blocks()
  local b = mp.Queue(1)
  b:put(1)
  assert.errtype(function() b:put(2, true, 0.1) end, "Full")
end

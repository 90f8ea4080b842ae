-- Queues and pipes against deaths and sizes: a producer terminated in the
-- middle of its large puts leaves join() able to return, a bounded Queue
-- takes one message larger than its ring, and a pipe sees the end of
-- file after any number of holders exited without closing it.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")
local procs = require("procs")

-- A producer of large items (out of line in a 64 KiB ring) terminated at
-- some moment: every item the consumer gets is whole, and join() returns
-- once each has been marked done.
function test_producer_terminated_mid_put()
  for round = 1, 3 do
    local q = mp.JoinableQueue{ring_size = 65536}
    local p = procs.start(function()
      for i = 1, 100000 do q:put(i .. ":" .. string.rep("x", 30000 + i % 7)) end
    end)
    local got = 0
    local function take(timeout)
      local ok, v = pcall(q.get, q, true, timeout)
      if not ok then
        assert.eq(v.type, "Empty")
        return false
      end
      local i, body = v:match("^(%d+):(x+)$")
      assert.truthy(i, "an item is whole")
      assert.eq(#body, 30000 + tonumber(i) % 7, "item " .. i .. " is whole")
      got = got + 1
      q:task_done()
      return true
    end
    for _ = 1, round * 5 do take(10) end
    p:terminate()
    p:join(10)
    assert.eq(p.exitcode, -15, "the producer was terminated")
    while take(0) do end
    assert.eq(q:qsize(), 0)
    assert.truthy(q:empty())
    local t0 = time.monotonic()
    assert.truthy(q:join(2), "join() after round " .. round .. "'s " .. got .. " items were done")
    assert.between(time.monotonic() - t0, 0, 0.5, "join() returned at once")
  end
end

-- Queue(1) with a 1 KiB ring takes a 100 KB message, as Python's does,
-- and then is full.
function test_bounded_queue_takes_big_message()
  local b = mp.Queue{maxsize = 1, ring_size = 1024}
  local big = string.rep("y", 100000)
  b:put(big, true, 1)
  assert.truthy(b:full())
  assert.errtype(function() b:put("z", true, 0.05) end, "Full")
  assert.eq(b:get(true, 1), big)
  assert.falsy(b:full())
end

-- 40 children each hold the sending end, send once and exit without
-- closing it; the parent closes its own: recv() gets the 40 messages,
-- then raises EOFError.
function test_pipe_eof_after_holders_exit()
  local r, w = mp.Pipe(false)
  local kids = {}
  for i = 1, 40 do
    kids[i] = procs.start(function(conn, n) conn:send(n) end, w, i)
  end
  for i = 1, 40 do procs.finish(kids[i], "sender " .. i) end
  w:close()
  local seen = {}
  for _ = 1, 40 do
    local n = r:recv()
    assert.falsy(seen[n], "message " .. n .. " once")
    seen[n] = true
  end
  local t0 = time.monotonic()
  assert.errtype(function() r:recv() end, "EOFError")
  assert.between(time.monotonic() - t0, 0, 2, "EOFError after the 40 holders exited")
end

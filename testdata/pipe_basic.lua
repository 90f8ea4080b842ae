-- Pipe: both kinds of pipe, send/recv/poll/close, the wrong end, end of
-- file after close, values and handles through a pipe.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

-- Duplex, in one process.
function test_duplex()
  local a, b = mp.Pipe()
  assert.eq(tostring(a), "<Connection duplex>")
  assert.truthy(a.readable and a.writable and not a.closed)
  assert.falsy(a == b, "the two ends differ")
  assert.truthy(a == a)
  assert.eq(a:poll(), false, "poll() of an empty pipe")
  a:send({1, "two", {3}})
  b:send("back")
  assert.eq(b:poll(), true, "poll() with a message waiting")
  assert.eq(b:recv(), {1, "two", {3}})
  assert.eq(a:recv(), "back")
  local t0 = time.monotonic()
  assert.eq(a:poll(0.1), false)
  assert.between(time.monotonic() - t0, 0.08, 2, "poll(0.1) waited")
  assert.eq(a:poll{timeout = 0.01}, false)
  a:send(nil)
  assert.eq(b:poll(math.huge), true)
  assert.eq(b:recv(), nil)
  assert.fails(function() a:send() end, "value expected")
  assert.errtype(function() a:send(coroutine.create(print)) end, "SerializationError")
end

-- One-way: the first end only receives, the second only sends.
function test_one_way()
  local r, w = mp.Pipe(false)
  assert.eq(tostring(r), "<Connection read-only>")
  assert.eq(tostring(w), "<Connection write-only>")
  assert.truthy(r.readable and not r.writable)
  assert.truthy(w.writable and not w.readable)
  assert.errtype(function() r:send(1) end, "OSError")
  assert.errtype(function() w:recv() end, "OSError")
  assert.errtype(function() w:poll() end, "OSError")
  w:send("one way")
  assert.eq(r:recv(), "one way")
  local r2, w2 = mp.Pipe{duplex = false}
  assert.truthy(r2.readable and not r2.writable)
  w2:send(42)
  assert.eq(r2:recv(), 42)
end

-- close: OSError on later use by this process; EOFError for the other
-- end once what was sent is read.
function test_close()
  local a, b = mp.Pipe()
  b:send("last")
  b:send("words")
  b:close()
  b:close() -- a second close is fine
  assert.truthy(b.closed)
  assert.eq(tostring(b), "<Connection closed>")
  assert.errtype(function() b:send(1) end, "OSError")
  assert.errtype(function() b:recv() end, "OSError")
  assert.errtype(function() b:poll() end, "OSError")
  assert.eq(a:recv(), "last")
  assert.eq(a:recv(), "words")
  assert.eq(a:poll(), true, "poll() at end of file")
  assert.errtype(function() a:recv() end, "EOFError")
  assert.errtype(function() a:recv() end, "EOFError")
  -- Sending to an end nobody holds any more.
  assert.errtype(function() a:send(1) end, "OSError")
end

-- Handles through a pipe: a queue, another connection.
function test_handles_through_a_pipe()
  local x, y = mp.Pipe()
  local q = mp.Queue()
  x:send(q)
  assert.truthy(y:recv() == q, "a queue through a pipe is the same queue")
  local r3, w3 = mp.Pipe(false)
  x:send(w3)
  local w3b = y:recv()
  assert.truthy(w3b == w3, "a connection through a pipe is the same end")
  w3b:send("via the copy")
  assert.eq(r3:recv(), "via the copy")
end

-- A big message through a small pipe.
function test_big_message_small_pipe()
  local s1, s2 = mp.Pipe{ring_size = 4096}
  local blob = string.rep("xyz", 100000)
  local p = mp.Process{target = function(c, n) c:send(string.rep("xyz", n)) end, args = {s2, 100000}}
  p:start()
  s2:close()
  assert.truthy(s1:recv() == blob, "300 KB through a 4 KiB pipe")
  p:join(10)
  assert.errtype(function() s1:recv() end, "EOFError")
end

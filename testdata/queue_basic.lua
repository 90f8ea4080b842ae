-- Queue, JoinableQueue and SimpleQueue in one process: order, sizes,
-- Empty/Full and their timeouts, close, the values a queue carries.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

-- FIFO, qsize, empty.
function test_put_get()
  local q = mp.Queue()
  assert.truthy(q:empty(), "new queue empty")
  assert.eq(q:qsize(), 0)
  assert.falsy(q:full(), "an unbounded queue is never full")
  for i = 1, 100 do q:put(i) end
  assert.eq(q:qsize(), 100)
  assert.falsy(q:empty())
  for i = 1, 100 do assert.eq(q:get(), i) end
  assert.truthy(q:empty())
  assert.eq(tostring(q), "<Queue maxsize=0 qsize=0>")
end

-- Values: nil, booleans, numbers, strings with zeros, tables with cycles
-- and shared parts, functions by value with their upvalues.
function test_values()
  local q = mp.Queue()
  q:put(nil); q:put(false); q:put(0.5); q:put(1/0); q:put("a\0b")
  assert.eq(q:get(), nil); assert.eq(q:get(), false); assert.eq(q:get(), 0.5)
  assert.eq(q:get(), 1/0); assert.eq(q:get(), "a\0b")
  local t = {name = "t", list = {1, 2, 3}}
  t.self = t
  t.shared = t.list
  q:put(t)
  local u = q:get()
  assert.eq(u.self, u, "cycle kept")
  assert.eq(u.shared, u.list, "shared table kept")
  assert.eq(u.list, {1, 2, 3})
  local count = 10
  local function counter() count = count + 1; return count end
  q:put(counter)
  local f = q:get()
  assert.eq(f(), 11); assert.eq(f(), 12)
  assert.eq(count, 10, "the function travelled by value")
  -- put never reads its value as options.
  q:put{1, 2}
  assert.eq(q:get(), {1, 2})
  q:put({block = false})
  assert.eq(q:get(), {block = false})
  -- A value that cannot be sent.
  local co = coroutine.create(function() end)
  local err = assert.errtype(function() q:put({co = co}) end, "SerializationError")
  assert.truthy(tostring(err):find("coroutine"), tostring(err))
  assert.truthy(q:empty(), "nothing was put")
  assert.fails(function() q:put() end, "value expected")
end

-- Handles: a queue sent through itself is the same queue.
function test_handles()
  local q = mp.Queue()
  q:put(q)
  local q2 = q:get()
  assert.truthy(q2 == q, "queue through a queue is the same queue")
  q2:put("via q2")
  assert.eq(q:get(), "via q2")
  if mp.Lock then
    local lock = mp.Lock()
    q:put(lock)
    assert.truthy(q:get() == lock, "lock through a queue is the same lock")
  end
  assert.truthy(q ~= mp.Queue(), "different queues differ")
end

-- Empty: get_nowait, get(false), get with a timeout, options forms.
function test_empty()
  local e = mp.Queue()
  assert.errtype(function() e:get_nowait() end, "Empty")
  assert.errtype(function() e:get(false) end, "Empty")
  assert.errtype(function() e:get{block = false} end, "Empty")
  local t0 = time.monotonic()
  assert.errtype(function() e:get(true, 0.1) end, "Empty")
  assert.between(time.monotonic() - t0, 0.08, 2, "get(true, 0.1) waited")
  t0 = time.monotonic()
  assert.errtype(function() e:get{timeout = 0.1} end, "Empty")
  assert.between(time.monotonic() - t0, 0.08, 2, "get{timeout = 0.1} waited")
  assert.errtype(function() e:get(true, -1) end, "Empty")
  assert.errtype(function() e:get(true, "x") end, "TypeError")
end

-- Full: Queue(maxsize).
function test_full()
  local b = mp.Queue(2)
  assert.eq(tostring(b), "<Queue maxsize=2 qsize=0>")
  b:put(1); b:put_nowait(2)
  assert.truthy(b:full())
  assert.eq(b:qsize(), 2)
  assert.errtype(function() b:put_nowait(3) end, "Full")
  assert.errtype(function() b:put(3, false) end, "Full")
  assert.errtype(function() b:put(3, {block = false}) end, "Full")
  local t0 = time.monotonic()
  assert.errtype(function() b:put(3, true, 0.1) end, "Full")
  assert.between(time.monotonic() - t0, 0.08, 2, "put(v, true, 0.1) waited")
  assert.eq(b:get(), 1)
  b:put(3, true, 0.1)
  assert.eq({b:get(), b:get()}, {2, 3})
  assert.falsy(mp.Queue{maxsize = 0}:full())
  assert.falsy(mp.Queue(-5):full(), "maxsize <= 0 means no limit")
  assert.errtype(function() mp.Queue(1.5) end, "ValueError")
  assert.errtype(function() mp.Queue("big") end, "TypeError")
  assert.errtype(function() mp.Queue{ring_size = 10} end, "ValueError")
end

-- A small ring: messages bigger than it are streamed.
function test_small_ring()
  local small = mp.Queue{ring_size = 4096}
  local big = string.rep("0123456789abcdef", 4096)
  small:put("before")
  local p = mp.Process{target = function(sq, s) sq:put(s); sq:put("after") end, args = {small, big}}
  p:start()
  assert.eq(small:get(), "before")
  assert.eq(small:get(5), big, "64 KiB through a 4 KiB ring")
  assert.eq(small:get(5), "after")
  p:join(10)
end

-- close: this handle's use ends; the queue lives on for the other
-- handles (one in a child, one in flight on another queue).
function test_close()
  local c = mp.Queue()
  local other = mp.Process{target = function(cq) cq:put("from child") end, args = {c}}
  c:put("first")
  local holder = mp.Queue()
  holder:put(c)
  other:start()
  c:close()
  c:close() -- a second close is fine
  assert.errtype(function() c:put(1) end, "ValueError")
  assert.errtype(function() c:get() end, "ValueError")
  assert.errtype(function() c:get_nowait() end, "ValueError")
  assert.errtype(function() c:qsize() end, "ValueError")
  assert.eq(tostring(c), "<Queue closed>")
  -- A closed handle cannot be sent: its queue may be gone.
  assert.errtype(function() holder:put(c) end, "SerializationError")
  c:join_thread()
  other:join(10)
  assert.eq(other.exitcode, 0)
  -- Another handle to the same queue, in this process, is still open.
  local c2 = holder:get()
  assert.eq(c2:get(), "first")
  assert.eq(c2:get(5), "from child")
end

-- JoinableQueue in one process.
function test_joinable_queue()
  local j = mp.JoinableQueue()
  assert.truthy(j:join(), "join with nothing put")
  j:put("a"); j:put("b")
  assert.eq(tostring(j), "<JoinableQueue maxsize=0 qsize=2 unfinished=2>")
  assert.eq(j:join(0.05), false, "join with unfinished tasks")
  j:get(); j:task_done()
  assert.eq(j:join{timeout = 0.01}, false)
  j:get(); j:task_done()
  assert.eq(j:join(), true)
  assert.errtype(function() j:task_done() end, "ValueError")
  assert.eq(mp.Queue().task_done, nil, "a plain Queue has no task_done")
end

function test_simple_queue()
  local s = mp.SimpleQueue()
  assert.truthy(s:empty())
  s:put({1, 2, 3}); s:put("x")
  assert.falsy(s:empty())
  assert.eq(s:get(), {1, 2, 3})
  assert.eq(s:get(1), "x")
  local t0 = time.monotonic()
  assert.errtype(function() s:get(0.1) end, "Empty")
  assert.between(time.monotonic() - t0, 0.08, 2, "SimpleQueue get(0.1) waited")
  assert.errtype(function() s:get{timeout = 0.01} end, "Empty")
  assert.eq(tostring(s), "<SimpleQueue qsize=0>")
  s:close()
  assert.errtype(function() s:put(1) end, "ValueError")
  assert.errtype(function() s:get() end, "ValueError")
  assert.eq(s.put_nowait, nil, "SimpleQueue has no put_nowait")
end

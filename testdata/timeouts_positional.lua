-- A number given first to a blocking call is its timeout (Python would
-- read q.get(0.2) as block = 0.2 and wait forever); a boolean is block;
-- nil is the default; {block=, timeout=} is the options form. A negative
-- timeout is 0, as multiprocessing takes it. Every blocking call below
-- would wait forever if it read its number as block.
local assert = require("assert")
local procs = require("procs")
local mp = require("multiprocessing")
local time = require("time")

-- quick runs fn and checks that it returned within 5 seconds; it gives
-- fn's first value.
local function quick(what, fn)
  local t0 = time.monotonic()
  local v = fn()
  assert.between(time.monotonic() - t0, 0, 5, what)
  return v
end

local function empty(what, fn)
  quick(what, function() assert.errtype(fn, "Empty") end)
end

-- Queue, JoinableQueue, SimpleQueue.
function test_queues()
  for _, make in ipairs{mp.Queue, mp.JoinableQueue} do
    local q = make(1)
    empty("get(0.1)", function() return q:get(0.1) end)
    empty("get(-1)", function() return q:get(-1) end)
    empty("get(false)", function() return q:get(false) end)
    empty("get(true, 0.1)", function() return q:get(true, 0.1) end)
    empty("get(nil, 0.1)", function() return q:get(nil, 0.1) end)
    empty("get{timeout = 0.1}", function() return q:get{timeout = 0.1} end)
    empty("get{block = false}", function() return q:get{block = false} end)
    empty("get(true, {timeout = 0.1})", function() return q:get(true, {timeout = 0.1}) end)
    q:put("x")
    quick("put(v, 0.1)", function() assert.errtype(function() q:put("y", 0.1) end, "Full") end)
    quick("put(v, -1)", function() assert.errtype(function() q:put("y", -1) end, "Full") end)
    quick("put(v, false)", function() assert.errtype(function() q:put("y", false) end, "Full") end)
    quick("put(v, {timeout = 0.1})", function() assert.errtype(function() q:put("y", {timeout = 0.1}) end, "Full") end)
    assert.eq(q:get(0.1), "x", "get(timeout) when an item is there")
    q:put({block = false}) -- a table value is the item, never options
    assert.eq(q:get(1), {block = false})
  end
  local jq = mp.JoinableQueue()
  jq:put(1)
  assert.eq(quick("JoinableQueue.join(0.1)", function() return jq:join(0.1) end), false)
  assert.eq(quick("JoinableQueue.join{timeout = 0.1}", function() return jq:join{timeout = 0.1} end), false)
  local sq = mp.SimpleQueue()
  empty("SimpleQueue.get(0.1)", function() return sq:get(0.1) end)
  empty("SimpleQueue.get(-1)", function() return sq:get(-1) end)
end

-- Locks and semaphores: acquire(0.1) on one that is taken.
function test_lock()
  local lock = mp.Lock()
  lock:acquire()
  assert.eq(quick("Lock.acquire(0.1)", function() return lock:acquire(0.1) end), false)
  assert.eq(quick("Lock.acquire(-1)", function() return lock:acquire(-1) end), false)
  assert.eq(quick("Lock.acquire(false)", function() return lock:acquire(false) end), false)
  assert.eq(quick("Lock.acquire(true, 0.1)", function() return lock:acquire(true, 0.1) end), false)
  assert.eq(quick("Lock.acquire{timeout = 0.1}", function() return lock:acquire{timeout = 0.1} end), false)
  lock:release()
  assert.eq(lock:acquire(0.1), true, "a free lock is taken")
  lock:release()
end

-- An RLock and a Condition's RLock held by a child.
function test_rlock_and_condition_held_by_a_child()
  local rlock = mp.RLock()
  local held, done = mp.Event(), mp.Event()
  local holder = procs.start(function(l, h, d)
    l:acquire(); h:set(); d:wait(30); l:release()
  end, rlock, held, done)
  assert.truthy(held:wait(10), "the child holds the RLock")
  assert.eq(quick("RLock.acquire(0.1)", function() return rlock:acquire(0.1) end), false)
  local cond = mp.Condition(rlock)
  assert.eq(quick("Condition.acquire(0.1)", function() return cond:acquire(0.1) end), false)
  assert.eq(quick("Condition.acquire{timeout = 0.1}", function() return cond:acquire{timeout = 0.1} end), false)
  done:set()
  procs.finish(holder, "RLock holder")
end

function test_semaphores()
  for _, make in ipairs{mp.Semaphore, mp.BoundedSemaphore} do
    local s = make(1)
    assert.eq(s:acquire(0.1), true)
    assert.eq(quick("Semaphore.acquire(0.1)", function() return s:acquire(0.1) end), false)
    assert.eq(quick("Semaphore.acquire(-5)", function() return s:acquire(-5) end), false)
    s:release()
  end
end

-- Event, Condition.wait and wait_for, Barrier.
function test_event_condition_barrier()
  local ev = mp.Event()
  assert.eq(quick("Event.wait(0.1)", function() return ev:wait(0.1) end), false)
  assert.eq(quick("Event.wait(-1)", function() return ev:wait(-1) end), false)
  assert.eq(quick("Event.wait{timeout = 0.1}", function() return ev:wait{timeout = 0.1} end), false)
  local c = mp.Condition()
  c:acquire()
  assert.eq(quick("Condition.wait(0.1)", function() return c:wait(0.1) end), false)
  assert.eq(quick("Condition.wait(-1)", function() return c:wait(-1) end), false)
  assert.eq(quick("Condition.wait_for(p, 0.1)", function() return c:wait_for(function() return false end, 0.1) end), false)
  assert.eq(quick("Condition.wait_for(p, {timeout = 0.1})", function()
    return c:wait_for(function() return false end, {timeout = 0.1})
  end), false)
  c:release()
  local b = mp.Barrier(2)
  quick("Barrier.wait(0.1)", function() assert.errtype(function() b:wait(0.1) end, "BrokenBarrierError") end)
  b:reset()
  quick("Barrier.wait(-1)", function() assert.errtype(function() b:wait(-1) end, "BrokenBarrierError") end)
  b:reset()
  quick("Barrier.wait{timeout = 0.1}", function() assert.errtype(function() b:wait{timeout = 0.1} end, "BrokenBarrierError") end)
end

-- Connection.poll and recv.
function test_connection()
  local r, w = mp.Pipe()
  assert.eq(quick("poll(0.1)", function() return r:poll(0.1) end), false)
  assert.eq(quick("poll(-1)", function() return r:poll(-1) end), false)
  quick("recv(0.1)", function() assert.errtype(function() r:recv(0.1) end, "TimeoutError") end)
  quick("recv{timeout = 0.1}", function() assert.errtype(function() r:recv{timeout = 0.1} end, "TimeoutError") end)
  w:send("hi")
  assert.eq(r:recv(1), "hi", "recv(timeout) when a value is there")
end

-- Process.join, AsyncResult.get/wait, Pool.join, an imap iterator.
function test_process_and_pool()
  local p = mp.Process{target = function() require("time").sleep(30) end}
  p:start()
  quick("Process.join(0.1)", function() p:join(0.1) end)
  quick("Process.join(-1)", function() p:join(-1) end)
  quick("Process.join{timeout = 0.1}", function() p:join{timeout = 0.1} end)
  assert.truthy(p:is_alive(), "join(timeout) returned while it runs")
  p:kill(); p:join()

  local pool = mp.Pool(1)
  local slow = pool:apply_async(function() require("time").sleep(30) end)
  quick("AsyncResult.get(0.1)", function() assert.errtype(function() slow:get(0.1) end, "TimeoutError") end)
  quick("AsyncResult.get(-1)", function() assert.errtype(function() slow:get(-1) end, "TimeoutError") end)
  quick("AsyncResult.wait(0.1)", function() slow:wait(0.1) end)
  assert.falsy(slow:ready())
  local it = pool:imap(function(x) return x end, {1})
  quick("IMapIterator.next(0.1)", function() assert.errtype(function() it:next(0.1) end, "TimeoutError") end)
  pool:close()
  assert.eq(quick("Pool.join(0.1)", function() return pool:join(0.1) end), false)
  pool:terminate()
  assert.eq(pool:join(10), true)
end

-- What the rule refuses.
function test_refused()
  local q, lock, ev = mp.Queue(), mp.Lock(), mp.Event()
  local r = mp.Pipe()
  local e = assert.errtype(function() q:get(0.1, 1) end, "TypeError")
  assert.truthy(e.message:find("a number first is the timeout", 1, true), e.message)
  assert.errtype(function() q:get{block = 0.5} end, "TypeError")
  assert.errtype(function() q:get("soon") end, "TypeError")
  assert.errtype(function() q:get(true, 1, 2) end, "TypeError")
  assert.errtype(function() lock:acquire(0 / 0) end, "ValueError")
  e = assert.errtype(function() ev:wait(true) end, "TypeError")
  assert.truthy(e.message:find("has no block argument", 1, true), e.message)
  assert.errtype(function() r:poll(false) end, "TypeError")
end

-- Every options table is checked: an unknown key is a TypeError naming
-- it, the accepted keys and a near miss; Python's kwargs/kwds are a
-- TypeError that shows the Lua way. The pool's async calls take callback
-- and error_callback in an options table as well as positionally.
local assert = require("assert")
local mp = require("multiprocessing")

-- rejects checks that fn raises a TypeError whose message holds each of
-- the plain strings given.
local function rejects(fn, ...)
  local e = assert.errtype(fn, "TypeError")
  for _, s in ipairs{...} do
    assert.truthy(e.message:find(s, 1, true), "'" .. s .. "' in: " .. e.message)
  end
  return e
end

-- Process: the trap itself, a misspelt target, ran and exited 0.
function test_process()
  rejects(function() mp.Process{targte = print} end,
    "Process: got an unknown option 'targte'", "did you mean 'target'?", "target, args, name, daemon, run")
  rejects(function() mp.Process{target = print, kwargs = {k = 2}} end,
    "'kwargs'", "no Lua counterpart", "args = {{key = value}}")
  rejects(function() mp.Process{target = print, args = {k = 2}} end, "Process: args: got the key 'k'", "no Lua counterpart")
  rejects(function() mp.Process{print} end, "the item [1] in the options table")
  rejects(function() mp.Process{run = print, naem = "x"} end, "did you mean 'name'?")
  rejects(function() mp.Process({target = print}, 2) end, "want one options table")
  rejects(function() mp.Process{target = print, daemon = 1} end, "Process: daemon")
end

function test_pool()
  rejects(function() mp.Pool{processes = 1, initialiser = print} end, "did you mean 'initializer'?")
  rejects(function() mp.Pool{processes = 1, initargs = {k = 1}} end, "Pool: initargs: got the key 'k'")
  rejects(function() mp.Pool(1, nil, nil, nil, 5) end, "Pool: got 5 arguments, want at most 4")
end

-- Queues, Pipe, Semaphores, Barrier, Condition, Value, Array, Lock, Event.
function test_constructors()
  rejects(function() mp.Queue{maxsize = 1, ring_sise = 4096} end, "Queue: got an unknown option 'ring_sise'", "did you mean 'ring_size'?")
  rejects(function() mp.JoinableQueue{max_size = 1} end, "did you mean 'maxsize'?")
  rejects(function() mp.SimpleQueue{maxsize = 1} end, "SimpleQueue: got an unknown option 'maxsize'", "want only ring_size")
  rejects(function() mp.Pipe{duplx = false} end, "did you mean 'duplex'?")
  rejects(function() mp.Pipe(0) end, "Pipe: duplex: got a number, want a boolean")
  rejects(function() mp.Semaphore{valeu = 2} end, "did you mean 'value'?")
  rejects(function() mp.BoundedSemaphore{value = 2, max = 3} end, "unknown option 'max'")
  rejects(function() mp.Barrier{parties = 2, timout = 1} end, "did you mean 'timeout'?")
  rejects(function() mp.Condition{lokc = mp.Lock()} end, "did you mean 'lock'?")
  rejects(function() mp.Value("i", 0, {lok = false}) end, "did you mean 'lock'?")
  rejects(function() mp.Array("i", 3, {locks = false}) end, "did you mean 'lock'?")
  rejects(function() mp.Lock(1) end, "Lock: got 1 argument, want none")
  rejects(function() mp.Event{} end, "Event: got 1 argument, want none")
end

-- What the options say is done.
function test_constructor_options_done()
  local r, w = mp.Pipe{duplex = false, ring_size = 4096}
  assert.eq(w.readable, false)
  assert.errtype(function() mp.Value("i", 0, {lock = false}):get_lock() end, "AttributeError")
  assert.eq(mp.Array("i", {1, 2}, {lock = false}):totable(), {1, 2})
  assert.eq(mp.Semaphore{value = 2}:get_value(), 2)
end

function test_blocking_methods()
  local r, w = mp.Pipe{duplex = false, ring_size = 4096}
  local q, lock, ev, cond = mp.Queue(), mp.Lock(), mp.Event(), mp.Condition()
  rejects(function() q:get{timout = 1} end, "Queue.get: got an unknown option 'timout'", "did you mean 'timeout'?", "block, timeout")
  rejects(function() q:put(1, {blok = false}) end, "Queue.put", "did you mean 'block'?")
  rejects(function() lock:acquire{blocking = false} end, "Lock.acquire: got an unknown option 'blocking'")
  rejects(function() ev:wait{timeout = 1, block = false} end, "Event.wait: got an unknown option 'block'", "want only timeout")
  cond:acquire()
  rejects(function() cond:notify{count = 2} end, "Condition.notify: got an unknown option 'count'")
  rejects(function() cond:wait{timeot = 0} end, "did you mean 'timeout'?")
  rejects(function() cond:wait_for(function() return true end, {timeot = 0}) end, "Condition.wait_for")
  cond:release()
  rejects(function() r:poll{timeot = 0} end, "Connection.poll")
  rejects(function() r:recv{timeot = 0} end, "Connection.recv")
  rejects(function() q:get(true, {block = false}) end, "got block both as an argument and in the options table")
  local p = mp.Process{target = function() end}
  p:start()
  rejects(function() p:join{timeot = 1} end, "Process.join")
  p:join(10)
  assert.eq(p.exitcode, 0)
end

local function double(x) return 2 * x end
local function add(a, b) return a + b end

-- The pool's calls.
function test_pool_calls()
  local pool = mp.Pool(1)
  rejects(function() pool:map(double, {1}, {chunksise = 1}) end, "Pool.map: got an unknown option 'chunksise'", "want one of chunksize, limits")
  rejects(function() pool:imap(double, {1}, {callback = print}) end, "Pool.imap: got an unknown option 'callback'")
  rejects(function() pool:imap_unordered(double, {1}, {chunk = 1}) end, "Pool.imap_unordered")
  rejects(function() pool:starmap(add, {{1, 2}}, {chunksize = 1, x = 1}) end, "Pool.starmap")
  rejects(function() pool:map_async(double, {1}, {callbak = print}) end, "did you mean 'callback'?", "chunksize, callback, error_callback")
  rejects(function() pool:starmap_async(add, {{1, 2}}, {error_callbak = print}) end, "did you mean 'error_callback'?")
  -- apply's args is a list: a table of named keys there is read as options.
  rejects(function() pool:apply_async(print, {args = {"x"}, error_callbak = print}) end,
    "Pool.apply_async: got an unknown option 'error_callbak'", "did you mean 'error_callback'?", "in the table given as args, read as options")
  -- A table after args is options too, and a key there is no kwds.
  rejects(function() pool:apply(print, {1}, {k = 2}) end,
    "Pool.apply: got an unknown option 'k' in the table after args", "no Lua counterpart", "pool:apply(f, {1, {key = value}})")
  rejects(function() pool:apply_async(print, {1}, {kwds = {k = 2}}) end, "'kwds'", "no Lua counterpart")
  rejects(function() pool:apply(print, {1, k = 2}) end, "Pool.apply: got args holding items and the key 'k'")
  rejects(function() pool:apply(print, {args = {k = 2}}) end, "Pool.apply: args: got the key 'k'")
  rejects(function() pool:apply(print, {args = {1}}, {args = {2}}) end, "got args both")
  pool:terminate()
end

-- The options forms work.
function test_pool_options_forms()
  local pool = mp.Pool(1)
  assert.eq(pool:apply(add, {args = {1, 2}}), 3)
  assert.eq(pool:apply(add, {1, 2}, {}), 3)
  assert.eq(pool:map(double, {1, 2, 3}, {chunksize = 2}), {2, 4, 6})
  assert.eq(pool:starmap(add, {{1, 2}, {3, 4}}, {chunksize = 1}), {3, 7})
  local seen = {}
  for i, v in pool:imap(double, {5, 6}, {chunksize = 1}) do seen[i] = v end
  assert.eq(seen, {10, 12})
  local got, failed
  pool:apply_async(add, {args = {20, 22}, callback = function(v) got = v end}):wait(10)
  assert.eq(got, 42, "apply_async{args =, callback =}")
  pool:apply_async(add, {1, 1}, {callback = function(v) got = v end}):wait(10)
  assert.eq(got, 2, "apply_async(f, args, {callback =})")
  pool:apply_async(add, {2, 2}, function(v) got = v end):wait(10)
  assert.eq(got, 4, "apply_async(f, args, callback)")
  pool:apply_async(error, {args = {"boom"}, error_callback = function(e) failed = e end}):wait(10)
  assert.eq(failed and failed.type, "RemoteError", "apply_async{error_callback =}")
  pool:map_async(double, {1, 2}, {callback = function(v) got = v end}):wait(10)
  assert.eq(got, {2, 4}, "map_async(f, xs, {callback =})")
  pool:starmap_async(add, {{1, 2}}, {chunksize = 1, callback = function(v) got = v end}):wait(10)
  assert.eq(got, {3}, "starmap_async(f, xs, {chunksize =, callback =})")
  failed = nil
  pool:map_async(error, {"x"}, nil, nil, function(e) failed = e end):wait(10)
  assert.eq(failed and failed.type, "RemoteError", "map_async positional error_callback")
  pool:terminate()
end

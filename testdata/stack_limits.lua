-- Limits: long argument lists and long concatenations work; running out
-- of stack (deep recursion, coroutines resuming coroutines thousands deep,
-- values nested past the codec's depth) is a Lua error that pcall
-- catches, in this process, a child and a pool worker, never a Go panic.
local mp = require("multiprocessing")
local assert = require("assert")
local procs = require("procs")

local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end

-- nest makes coroutines resume coroutines without end.
local function nest(n)
  local co = coroutine.create(function() return nest(n + 1) end)
  local ok, v = coroutine.resume(co)
  if not ok then error(v, 0) end
  return v
end

-- withPool calls f with a pool of one worker, then closes and joins it.
local function withPool(f)
  local pool = mp.Pool(1)
  f(pool)
  pool:close()
  pool:join()
end

-- table.concat of 6000 strings.
function test_long_concat()
  local parts = {}
  for i = 1, 6000 do parts[i] = "ab" end
  assert.eq(#table.concat(parts), 12000, "table.concat of 6000 strings")
  assert.eq(#table.concat(parts, ","), 17999, "with a separator")
end

-- 8000 arguments, through unpack and to a child and a pool task.
function test_8000_arguments()
  local args = {}
  for i = 1, 8000 do args[i] = i end
  assert.eq(select("#", unpack(args)), 8000, "unpack of 8000")

  local function checkArgs(...)
    local n = select("#", ...)
    if n ~= 8000 or select(8000, ...) ~= 8000 then
      error("child got " .. n .. " arguments, want 8000", 0)
    end
  end
  procs.finish(procs.start(checkArgs, unpack(args)), "a Process with 8000 args")

  withPool(function(pool)
    assert.eq(pool:apply(function(...) return select("#", ...) end, args), 8000, "a pool task with 8000 args")
  end)
end

-- Recursion 100,000 calls deep works; unbounded recursion is an error.
function test_deep_recursion()
  assert.eq(depth(100000), 100000, "recursion 100000 deep")
  assert.fails(function() depth(1e8) end, "stack overflow")
end

-- Coroutines resuming coroutines without end.
function test_coroutines_without_end()
  assert.fails(function() nest(1) end, "^C stack overflow$")
  local function wrapped(n) return coroutine.wrap(function() return wrapped(n + 1) end)() end
  assert.fails(function() wrapped(1) end, "C stack overflow")
  -- ... and a recursive metamethod.
  local loop = setmetatable({}, {__index = function(t, k) return t[k] end})
  assert.fails(function() return loop.x end, "C stack overflow")
  -- After all of that, coroutines still work.
  local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
  assert.eq(gen() + gen() + gen(), 6, "a generator after the overflows")
end

-- In a child: caught there, the child exits 0.
function test_overflow_in_a_child()
  procs.finish(procs.start(function()
    local ok, err = pcall(nest, 1)
    if ok or err ~= "C stack overflow" then error("child: got " .. tostring(err), 0) end
  end), "a child catching the overflow")
end

-- In a pool task: a RemoteError in the caller, and the worker lives on.
function test_overflow_in_a_pool_task()
  withPool(function(pool)
    local pid = pool:apply(function() return mp.current_process().pid end)
    local e = assert.errtype(function() pool:apply(nest, {1}) end, "RemoteError")
    assert.truthy(tostring(e.value):find("C stack overflow"), tostring(e.value))
    assert.eq(pool:apply(function() return mp.current_process().pid end), pid, "the same worker after the overflow")
    assert.eq(pool:apply(depth, {50000}), 50000, "deep recursion in a worker")
  end)
end

-- A value nested past the codec's depth cannot be sent; one just under it
-- can.
function test_codec_depth()
  withPool(function(pool)
    local deep = {}
    local cur = deep
    for _ = 1, 100001 do cur[1] = {}; cur = cur[1] end
    local e = assert.errtype(function() pool:apply(depth, {deep}) end, "SerializationError")
    assert.truthy(#tostring(e) < 500, "the error elides the path: " .. #tostring(e) .. " bytes")
    local p = mp.Process{target = function() end, args = {deep}}
    assert.errtype(function() p:start() end, "SerializationError")
    cur = deep
    for _ = 1, 99990 do cur[1] = {}; cur = cur[1] end
    assert.eq(pool:apply(function(t)
      local n = 0
      while t do n = n + 1; t = t[1] end
      return n
    end, {deep}), 99991, "a value 99991 deep")
  end)
end

-- Pool errors: a task's error is a RemoteError with the original value
-- and the worker's traceback; the other tasks run; the pool stays usable.
-- A result that cannot be sent fails its task only.
local mp = require("multiprocessing")
local assert = require("assert")

local function failOn3(x)
  if x == 3 then error("three is bad") end
  return x * 10
end

-- withPool calls f with a pool of two workers, checks that the pool is
-- still usable after what f did, then closes and joins it.
local function withPool(f)
  local pool = mp.Pool(2)
  f(pool)
  assert.eq(pool:map(function(x) return x + 1 end, {1, 2, 3}), {2, 3, 4}, "the pool is still usable")
  pool:close()
  assert.eq(pool:join(10), true)
end

-- apply: the error, its value and traceback.
function test_apply()
  withPool(function(pool)
    local e = assert.errtype(function() pool:apply(failOn3, {3}) end, "RemoteError")
    assert.truthy(tostring(e):find("^RemoteError: .*pool_errors.lua:%d+: three is bad"), tostring(e))
    assert.truthy(e.value:find("three is bad"), "value")
    assert.truthy(e.traceback:find("stack traceback"), "traceback: " .. tostring(e.traceback))
    assert.truthy(e.traceback:find("failOn3") or e.traceback:find("pool_errors.lua"), e.traceback)
  end)
end

-- A procsh error table keeps its type and fields; any value can be raised.
function test_error_values()
  withPool(function(pool)
    local e = assert.errtype(function()
      pool:apply(function() error({type = "ValueError", message = "custom", extra = 42}) end)
    end, "RemoteError")
    assert.eq(e.value.type, "ValueError"); assert.eq(e.value.extra, 42)
    e = assert.errtype(function() pool:apply(function() mp.Pool(1) end) end, "RemoteError")
    assert.eq(e.value.type, "AssertionError", "daemonic workers cannot have children")
    assert.eq(tostring(e.value):sub(1, 15), "AssertionError:")
    e = assert.errtype(function() pool:apply(function() error(42) end) end, "RemoteError")
    assert.eq(e.value, 42)
  end)
end

-- map: the error of the failing item; the others ran (no fail-fast).
function test_map()
  withPool(function(pool)
    local e = assert.errtype(function() pool:map(failOn3, {1, 2, 3, 4, 5}, 1) end, "RemoteError")
    assert.truthy(tostring(e):find("three is bad"))
    local ar = pool:map_async(failOn3, {1, 2, 3, 4, 5, 6, 7, 8}, 2)
    ar:wait(10)
    assert.truthy(ar:ready()); assert.falsy(ar:successful())
    assert.errtype(function() ar:get() end, "RemoteError")
  end)
end

-- imap: the failing item raises when reached; iteration can go on.
function test_imap()
  withPool(function(pool)
    local got = {}
    local it = pool:imap(failOn3, {1, 2, 3, 4, 5})
    for _ = 1, 5 do
      local ok, i, r = pcall(it)
      if ok then got[i] = r else got[#got + 1] = "err:" .. tostring(i.type) end
    end
    assert.eq(got, {10, 20, "err:RemoteError", 40, 50})
    -- One error in the middle of a chunk: the rest of the chunk still runs.
    local res = {}
    local ok = pcall(function()
      for i, r in pool:imap(function(x) if x == 2 then error("x") end return x end, {1, 2, 3, 4}, 4) do res[i] = r end
    end)
    assert.falsy(ok)
    local okAll = {}
    local it2 = pool:imap(function(x) if x == 2 then error("x") end return x end, {1, 2, 3, 4}, 4)
    for _ = 1, 4 do
      local ok2, i, r = pcall(it2)
      if ok2 then okAll[i] = r end
    end
    assert.eq(okAll, {1, nil, 3, 4})
  end)
end

-- A result that cannot be sent: SerializationError for that item only;
-- the worker lives on.
function test_unsendable_result()
  withPool(function(pool)
    local pids = {}
    for _, k in ipairs(mp.active_children()) do pids[k.pid] = true end
    local e = assert.errtype(function() pool:apply(function() return coroutine.create(print) end) end, "SerializationError")
    assert.truthy(tostring(e):find("coroutine"), tostring(e))
    local mixed = pool:map_async(function(x)
      if x == 2 then return coroutine.create(print) end
      return x
    end, {1, 2, 3}, 3)
    mixed:wait(10)
    assert.falsy(mixed:successful())
    assert.errtype(function() mixed:get() end, "SerializationError")
    local it3 = pool:imap(function(x) if x == 2 then return coroutine.create(print) end return x end, {1, 2, 3}, 3)
    assert.eq({it3()}, {1, 1})
    assert.errtype(function() it3() end, "SerializationError")
    assert.eq({it3()}, {3, 3})
    for _, k in ipairs(mp.active_children()) do assert.truthy(pids[k.pid], "no worker was replaced") end
  end)
end

-- Arguments that cannot be sent are refused before anything runs.
function test_unsendable_arguments()
  withPool(function(pool)
    local e = assert.errtype(function() pool:apply(print, {coroutine.create(print)}) end, "SerializationError")
    e = assert.errtype(function() pool:map(function(x) return x end, {1, coroutine.create(print)}) end, "SerializationError")
    assert.truthy(tostring(e):find("list%[2%]"), tostring(e))
  end)
end

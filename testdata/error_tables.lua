-- A Lua error that is a table reads as the REPL shows the table, wherever
-- it is reported; the caller of a pool task still gets the table itself.
local mp = require("multiprocessing")
local assert = require("assert")

-- withPool calls f with a pool of one worker, then closes and joins it.
local function withPool(f)
  local pool = mp.Pool(1)
  f(pool)
  pool:close()
  pool:join()
end

function test_apply()
  withPool(function(pool)
    local e = assert.errtype(function() pool:apply(function() error({code = 42}) end) end, "RemoteError")
    assert.eq(tostring(e), "RemoteError: { code = 42 }")
    assert.eq(e.message, "{ code = 42 }")
    assert.eq(e.value, {code = 42}, "the original table")
  end)
end

-- Through an AsyncResult and map, too.
function test_async_result_and_map()
  withPool(function(pool)
    local r = pool:apply_async(function() error({code = 43, why = "no"}) end)
    local e = assert.errtype(function() r:get(10) end, "RemoteError")
    assert.eq(tostring(e), 'RemoteError: { code = 43, why = "no" }')
    e = assert.errtype(function() pool:map(function(x) if x == 2 then error({item = x}) end return x end, {1, 2, 3}) end, "RemoteError")
    assert.eq(tostring(e), "RemoteError: { item = 2 }")
  end)
end

-- A table with a __tostring is shown by it.
function test_tostring_metamethod()
  withPool(function(pool)
    local e = assert.errtype(function()
      pool:apply(function() error(setmetatable({}, {__tostring = function() return "custom" end})) end)
    end, "RemoteError")
    assert.eq(tostring(e), "RemoteError: custom")
  end)
end

-- A long table is cut, on several lines.
function test_long_table()
  withPool(function(pool)
    local e = assert.errtype(function() pool:apply(function() error({list = {1, 2, 3}, text = string.rep("x", 80)}) end) end, "RemoteError")
    assert.truthy(tostring(e):find('^RemoteError: {\n  list = { 1, 2, 3 },\n  text = "x+",\n}$'), tostring(e))
  end)
end

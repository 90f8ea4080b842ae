-- A Lua error that is a table reads as the REPL shows the table, wherever
-- it is reported; the caller of a pool task still gets the table itself.
local mp = require("multiprocessing")
local assert = require("assert")

local pool = mp.Pool(1)

local e = assert.errtype(function() pool:apply(function() error({code = 42}) end) end, "RemoteError")
assert.eq(tostring(e), "RemoteError: { code = 42 }")
assert.eq(e.message, "{ code = 42 }")
assert.eq(e.value, {code = 42}, "the original table")

-- Through an AsyncResult and map, too.
local r = pool:apply_async(function() error({code = 43, why = "no"}) end)
e = assert.errtype(function() r:get(10) end, "RemoteError")
assert.eq(tostring(e), 'RemoteError: { code = 43, why = "no" }')
e = assert.errtype(function() pool:map(function(x) if x == 2 then error({item = x}) end return x end, {1, 2, 3}) end, "RemoteError")
assert.eq(tostring(e), "RemoteError: { item = 2 }")

-- A table with a __tostring is shown by it.
e = assert.errtype(function()
  pool:apply(function() error(setmetatable({}, {__tostring = function() return "custom" end})) end)
end, "RemoteError")
assert.eq(tostring(e), "RemoteError: custom")

-- A long table is cut, on several lines.
e = assert.errtype(function() pool:apply(function() error({list = {1, 2, 3}, text = string.rep("x", 80)}) end) end, "RemoteError")
assert.truthy(tostring(e):find('^RemoteError: {\n  list = { 1, 2, 3 },\n  text = "x+",\n}$'), tostring(e))

pool:close()
pool:join()
print("ok")

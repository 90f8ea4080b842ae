-- RawValue and RawArray (no lock), Array:slice and Array:iter.
local mp = require("multiprocessing")
local assert = require("assert")

function test_raw_value()
  local v = mp.RawValue("i", 5)
  assert.eq(v.value, 5)
  assert.eq(tostring(v), "<Value('i', 5)>")
  v.value = -3
  assert.eq(v.value, -3)
  assert.eq(mp.RawValue("d").value, 0, "init defaults to 0")
  assert.eq(mp.RawValue("d", {init = 2.5}).value, 2.5, "an options table")
  local e = assert.errtype(function() v:get_lock() end, "AttributeError")
  assert.truthy(e.message:match("lock = false"), e.message)
  assert.errtype(function() v:acquire() end, "AttributeError")
  assert.errtype(function() mp.with(v, function() end) end, "AttributeError")
  -- Python's RawValue takes no lock argument.
  assert.errtype(function() mp.RawValue("i", 1, false) end, "TypeError")
  assert.errtype(function() mp.RawValue("i", {lock = false}) end, "TypeError")
  e = assert.errtype(function() mp.RawValue("x") end, "TypeError")
  assert.truthy(e.message:match("^RawValue:"), e.message)
  e = assert.errtype(function() mp.RawValue("B", 256) end, "ValueError")
  assert.truthy(e.message:match("^RawValue:"), e.message)
  assert.errtype(function() mp.RawValue("i", "1") end, "TypeError")
end

function test_raw_array()
  local a = mp.RawArray("i", {1, 2, 3})
  assert.eq(#a, 3)
  assert.eq(a:totable(), {1, 2, 3})
  assert.eq(tostring(a), "<Array('i', {1, 2, 3})>")
  assert.eq(mp.RawArray("d", 4):totable(), {0, 0, 0, 0})
  assert.eq(mp.RawArray("b", {size_or_list = 2}):totable(), {0, 0})
  assert.errtype(function() a:get_lock() end, "AttributeError")
  assert.errtype(function() mp.RawArray("i", 3, false) end, "TypeError")
  local e = assert.errtype(function() mp.RawArray("i", -1) end, "ValueError")
  assert.truthy(e.message:match("^RawArray:"), e.message)
  e = assert.errtype(function() mp.RawArray("b", {1, 200}) end, "ValueError")
  assert.truthy(e.message:match("^RawArray: element 2"), e.message)
  assert.errtype(function() mp.RawArray("i", "3") end, "TypeError")
end

-- Raw objects are shared as the locked ones are.
function test_raw_shared_with_a_child()
  local v = mp.RawValue("q", 1)
  local a = mp.RawArray("d", 3)
  local p = mp.Process{target = function()
    v.value = 42
    for i = 1, #a do a[i] = i / 2 end
  end}
  p:start()
  p:join(30)
  assert.eq(p.exitcode, 0)
  assert.eq(v.value, 42)
  assert.eq(a:totable(), {0.5, 1, 1.5})
end

function test_slice()
  local a = mp.Array("i", {10, 20, 30, 40, 50})
  assert.eq(a:slice(), {10, 20, 30, 40, 50})
  assert.eq(a:slice(2), {20, 30, 40, 50})
  assert.eq(a:slice(2, 3), {20, 30})
  assert.eq(a:slice(3, 3), {30})
  assert.eq(a:slice(4, 2), {})
  assert.eq(a:slice(-2), {40, 50}, "negative counts from the end")
  assert.eq(a:slice(1, -2), {10, 20, 30, 40})
  assert.eq(a:slice(-3, -2), {30, 40})
  assert.eq(a:slice(0), {10, 20, 30, 40, 50}, "cut off at the ends")
  assert.eq(a:slice(-100, 100), {10, 20, 30, 40, 50})
  assert.eq(a:slice(6), {})
  assert.eq(a:slice(1, 0), {})
  assert.eq(a:slice(nil, 2), {10, 20})
  assert.eq(mp.Array("d", 0):slice(), {})
  assert.eq(mp.Array("d", 0):slice(-1, 1), {})
  assert.errtype(function() a:slice(1.5) end, "ValueError")
  assert.errtype(function() a:slice("1") end, "TypeError")
  assert.errtype(function() a:slice(1, {}) end, "TypeError")
  -- As the string.sub it follows.
  local s = "abcde"
  for _, r in ipairs{{1, 5}, {2, -1}, {-3, 4}, {0, 2}, {3, 1}, {-9, 9}, {5, 5}, {6, 7}} do
    local got = {}
    for _, x in ipairs(a:slice(r[1], r[2])) do got[#got + 1] = string.char(96 + x / 10) end
    assert.eq(table.concat(got), s:sub(r[1], r[2]), "slice(" .. r[1] .. ", " .. r[2] .. ")")
  end
end

function test_iter()
  local a = mp.Array("d", {1.5, 2.5, 3.5})
  local seen = {}
  for i, x in a:iter() do seen[#seen + 1] = {i, x} end
  assert.eq(seen, {{1, 1.5}, {2, 2.5}, {3, 3.5}})
  for _ in mp.Array("i", 0):iter() do error("an empty array has no elements") end
  -- Each step reads the element then.
  local n = 0
  for i, x in a:iter() do
    if i < #a then a[i + 1] = x * 10 end
    n = n + 1
  end
  assert.eq(n, 3)
  assert.eq(a:totable(), {1.5, 15, 150})
  local raw = mp.RawArray("i", {7, 8})
  local sum = 0
  for _, x in raw:iter() do sum = sum + x end
  assert.eq(sum, 15)
  a:close()
  assert.errtype(function() a:iter() end, "ValueError")
  assert.errtype(function() a:slice() end, "ValueError")
end

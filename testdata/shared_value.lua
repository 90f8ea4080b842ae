-- Value: every typecode round-trips its range exactly; nothing wraps or
-- rounds silently; locks; sharing with children.
local mp = require("multiprocessing")
local assert = require("assert")

local function run(f, ...)
  local p = mp.Process{target = f, args = table.pack(...)}
  p:start()
  p:join(30)
  return p.exitcode
end

local big = 2 ^ 53
local fmax = 3.4028234663852886e38 -- largest float32
local ranges = {
  b = {-128, 127}, B = {0, 255},
  h = {-32768, 32767}, H = {0, 65535},
  i = {-2147483648, 2147483647}, I = {0, 4294967295},
  l = {-big, big}, L = {0, big},
  q = {-big, big}, Q = {0, big},
  f = {-fmax, fmax}, d = {-1.7976931348623157e308, 1.7976931348623157e308},
}

function test_every_typecode_range()
  for code, r in pairs(ranges) do
    local lo, hi = r[1], r[2]
    local v = mp.Value(code)
    assert.eq(v.value, 0, code .. " starts at 0")
    v.value = lo
    assert.eq(v.value, lo, code .. " min")
    v.value = hi
    assert.eq(v.value, hi, code .. " max")
    assert.eq(mp.Value(code, lo).value, lo, code .. " min as init")
    -- The range goes to a child and back exactly.
    assert.eq(run(function(x, a, b)
      assert.eq(x.value, b)
      x.value = a
    end, v, lo, hi), 0, code .. " in a child")
    assert.eq(v.value, lo, code .. " written by a child")
    if code ~= "f" and code ~= "d" then
      -- 2^53 + 1 is 2^53 as a double: step by 2 there.
      local step = hi >= big and 2 or 1
      assert.errtype(function() v.value = hi + step end, "ValueError")
      assert.errtype(function() v.value = lo - (lo <= -big and 2 or 1) end, "ValueError")
      assert.errtype(function() mp.Value(code, hi + step) end, "ValueError")
      assert.errtype(function() v.value = 1.5 end, "ValueError")
      assert.errtype(function() v.value = 0 / 0 end, "ValueError")
      assert.errtype(function() v.value = (1 / 0) end, "ValueError")
      assert.eq(v.value, lo, code .. " unchanged by refused writes")
    end
  end
end

-- Beyond ±2^53 a Lua number is not exact: refused for 64-bit codes.
function test_beyond_2_53_refused()
  for _, code in ipairs{"q", "Q", "l", "L"} do
    assert.errtype(function() mp.Value(code, 2 ^ 54) end, "ValueError")
  end
  assert.errtype(function() mp.Value("q", -(2 ^ 54)) end, "ValueError")
end

-- Floats: 'f' rounds to float32 but refuses what would overflow it; NaN
-- and the infinities are kept.
function test_floats()
  local f = mp.Value("f", 0.5)
  assert.eq(f.value, 0.5)
  f.value = 0.1
  assert.truthy(math.abs(f.value - 0.1) < 1e-7, "float32 of 0.1")
  assert.errtype(function() f.value = 1e39 end, "ValueError")
  f.value = (1 / 0)
  assert.eq(f.value, (1 / 0))
  f.value = 0 / 0
  assert.truthy(f.value ~= f.value, "NaN in 'f'")
  local d = mp.Value("d", 0.1)
  assert.eq(d.value, 0.1)
  d.value = -(1 / 0)
  assert.eq(d.value, -(1 / 0))
  d.value = 5e-324
  assert.eq(d.value, 5e-324, "denormal")
end

-- Bad typecodes and values.
function test_bad_arguments()
  assert.errtype(function() mp.Value("x") end, "TypeError")
  assert.errtype(function() mp.Value("ii") end, "TypeError")
  assert.errtype(function() mp.Value(5) end, "TypeError")
  assert.errtype(function() mp.Value() end, "TypeError")
  assert.errtype(function() mp.Value("i", "5") end, "TypeError")
  assert.errtype(function() mp.Value("i", 0, 5) end, "TypeError")
  local v = mp.Value("i", 5)
  assert.errtype(function() v.value = "6" end, "TypeError")
  assert.errtype(function() v.other = 1 end, "AttributeError")
  assert.eq(tostring(v), "<Value('i', 5)>")
  assert.eq(tostring(mp.Value("d", 1.5)), "<Value('d', 1.5)>")
end

-- Locks: an RLock by default; the Lock or RLock given; none with false.
function test_locks()
  local v = mp.Value("i", 5)
  assert.truthy(tostring(v:get_lock()):find("^<RLock%(None, 0%)>$"), tostring(v:get_lock()))
  assert.eq(v:get_lock(), v:get_lock())
  local lock = mp.Lock()
  local vl = mp.Value("i", 0, lock)
  assert.eq(vl:get_lock(), lock, "the Lock given")
  local rl = mp.RLock()
  assert.eq(mp.Value("i", 0, rl):get_lock(), rl, "the RLock given")
  assert.eq(mp.Value("i", 0, true):get_lock() ~= nil, true)
  local raw = mp.Value("i", 0, false)
  assert.errtype(function() raw:get_lock() end, "AttributeError")
  assert.errtype(function() raw:acquire() end, "AttributeError")
  assert.errtype(function() mp.with(raw, function() end) end, "AttributeError")
  local raw2 = mp.Value("i", 0, {lock = false})
  assert.errtype(function() raw2:get_lock() end, "AttributeError")
  -- mp.with(v) holds v's lock; acquire/release are the lock's.
  mp.with(vl, function()
    assert.truthy(lock:locked(), "mp.with(value) takes its lock")
    vl.value = vl.value + 1
  end)
  assert.falsy(lock:locked())
  assert.eq(vl:acquire(), true)
  assert.truthy(lock:locked())
  vl:release()
end

-- Increments from 4 processes under the Value's own lock.
function test_increments_under_its_lock()
  local n = mp.Value("i", 0)
  local ps = {}
  for i = 1, 4 do
    ps[i] = mp.Process{target = function(x)
      for _ = 1, 2500 do mp.with(x, function() x.value = x.value + 1 end) end
    end, args = {n}}
    ps[i]:start()
  end
  for i = 1, 4 do ps[i]:join(30); assert.eq(ps[i].exitcode, 0) end
  assert.eq(n.value, 10000)
end

-- close frees it; later use here is a ValueError.
function test_close()
  local v = mp.Value("i", 5)
  v:close()
  assert.errtype(function() return v.value end, "ValueError")
  assert.errtype(function() v.value = 1 end, "ValueError")
  assert.eq(tostring(v), "<Value('i', closed)>")
end

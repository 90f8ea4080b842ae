-- concurrent.futures: ProcessPoolExecutor.map with real worker
-- processes: order, several lists, chunksize, the first error at its
-- place, the timeout counted from the call, results as they come.
local futures = require("concurrent.futures")
local time = require("time")
local assert = require("assert")

local function collect(it)
  local out = {}
  for i, v in it do out[#out + 1] = {i, v} end
  return out
end

-- Results come in the order of the list, whatever order they finish in.
function test_map_in_order()
  local ex = futures.ProcessPoolExecutor(3)
  local it = ex:map(function(s) time.sleep(s) return s * 10 end, {0.3, 0.1, 0.2, 0})
  assert.eq(collect(it), {{1, 3}, {2, 1}, {3, 2}, {4, 0}})
  assert.eq(select("#", it()), 0, "a finished iterator gives nothing")
  ex:shutdown()
end

-- Several lists are zipped, up to the shortest; nil results do not end
-- the loop; an empty list gives an empty loop.
function test_map_several_lists_and_nils()
  local ex = futures.ProcessPoolExecutor(2)
  assert.eq(collect(ex:map(function(a, b) return a * b end, {1, 2, 3}, {4, 5})), {{1, 4}, {2, 10}})
  assert.eq(collect(ex:map(function(x) if x % 2 == 0 then return x end end, {1, 2, 3, 4})), {{1, nil}, {2, 2}, {3, nil}, {4, 4}})
  assert.eq(collect(ex:map(print, {})), {})
  ex:shutdown()
end

-- chunksize sends the items in groups; the results are the same.
function test_map_chunksize()
  local ex = futures.ProcessPoolExecutor(2)
  local xs = {}
  for i = 1, 50 do xs[i] = i end
  local sum = 0
  for i, v in ex:map(function(x) return x * x end, xs, {chunksize = 7}) do
    assert.eq(v, i * i)
    sum = sum + 1
  end
  assert.eq(sum, 50)
  assert.errtype(function() ex:map(print, xs, {chunksize = 0}) end, "ValueError")
  assert.errtype(function() ex:map(print, xs, {chunk = 2}) end, "TypeError")
  assert.errtype(function() ex:map(print) end, "TypeError")
  assert.errtype(function() ex:map(print, 5) end, "TypeError")
  ex:shutdown()
end

-- The first failed item raises its error when the loop reaches it, after
-- the items before it; then the iterator is over and the items no worker
-- started are cancelled.
function test_map_error_at_its_place()
  local ex = futures.ProcessPoolExecutor(1)
  local got = {}
  local it = ex:map(function(x)
    if x == 3 then error("item three") end
    time.sleep(0.05)
    return x
  end, {1, 2, 3, 4, 5, 6, 7, 8})
  local ok, err = pcall(function()
    for i, v in it do got[#got + 1] = v end
  end)
  assert.falsy(ok)
  assert.eq(got, {1, 2})
  assert.eq(err.type, "RemoteError")
  assert.truthy(tostring(err.value):find("item three", 1, true))
  assert.eq(select("#", it()), 0, "the iterator is over after the error")
  ex:shutdown()
end

-- The timeout counts from the map call: a step that is not done by then
-- raises TimeoutError.
function test_map_timeout()
  local ex = futures.ProcessPoolExecutor(2)
  local t = time.monotonic()
  local it = ex:map(function(s) time.sleep(s) return s end, {0.05, 3}, {timeout = 0.4})
  local i, v = it()
  assert.eq({i, v}, {1, 0.05})
  local e = assert.errtype(function() it() end, "TimeoutError")
  assert.between(time.monotonic() - t, 0.35, 2, "the timeout ran from the call")
  assert.truthy(e.message:find("item 2 of 2", 1, true), e.message)
  ex:shutdown{wait = false}
end

-- The iterator gives each result as it comes: the first long before the
-- last is done.
function test_map_lazy()
  local ex = futures.ProcessPoolExecutor(2)
  local t = time.monotonic()
  local it = ex:map(function(s) time.sleep(s) return s end, {0, 1.5})
  assert.eq(select(2, it()), 0)
  assert.between(time.monotonic() - t, 0, 1, "the first result came before the last item finished")
  assert.eq(select(2, it()), 1.5)
  ex:shutdown()
end

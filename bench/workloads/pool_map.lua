-- pool_map: Pool(2):map(square, 1..n), n = 100,000 unless a size is
-- given; reports the map alone, as the Python side does.
local mp = require("multiprocessing")
local time = require("time")

local function square(x) return x * x end

return function(size)
  local n = size or 100000
  local items = {}
  for i = 1, n do items[i] = i end
  return mp.with(mp.Pool(2), function(pool)
    -- Python maps a range; the list is this side's setup, and so is
    -- the garbage its making left.
    collectgarbage()
    local t = time.monotonic()
    local out = pool:map(square, items)
    local dt = time.monotonic() - t
    assert(out[#out] == n * n)
    return dt
  end)
end

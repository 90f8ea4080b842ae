-- apply_async: n sequential apply_async():get() on Pool(2), n = 2000
-- unless a size is given; reports the loop alone, as the Python side
-- does.
local mp = require("multiprocessing")
local time = require("time")

local function square(x) return x * x end

return function(size)
  local n = size or 2000
  return mp.with(mp.Pool(2), function(pool)
    local t = time.monotonic()
    for i = 0, n - 1 do
      assert(pool:apply_async(square, {i}):get() == i * i)
    end
    return time.monotonic() - t
  end)
end

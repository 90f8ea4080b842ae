-- apply_async: 2000 sequential apply_async():get() on Pool(2); reports
-- the loop alone, as the Python side does.
local mp = require("multiprocessing")
local time = require("time")

local function square(x) return x * x end

return function()
  return mp.with(mp.Pool(2), function(pool)
    local t = time.monotonic()
    for i = 0, 1999 do
      assert(pool:apply_async(square, {i}):get() == i * i)
    end
    return time.monotonic() - t
  end)
end

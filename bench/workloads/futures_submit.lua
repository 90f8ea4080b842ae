-- futures_submit: 2000 sequential submit():result() on a
-- ProcessPoolExecutor(2); reports the loop alone, as the Python side does.
local mp = require("multiprocessing")
local futures = require("concurrent.futures")
local time = require("time")

local function square(x) return x * x end

return function()
  return mp.with(futures.ProcessPoolExecutor(2), function(ex)
    local t = time.monotonic()
    for i = 0, 1999 do
      assert(ex:submit(square, i):result() == i * i)
    end
    return time.monotonic() - t
  end)
end

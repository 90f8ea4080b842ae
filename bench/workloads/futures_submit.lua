-- futures_submit: 2000 sequential submit():result() on a
-- ProcessPoolExecutor(2), after one submit that starts it (Python's
-- executor starts its workers at the first submit); reports the loop
-- alone, as the Python side does.
local mp = require("multiprocessing")
local futures = require("concurrent.futures")
local time = require("time")

local function square(x) return x * x end

return function()
  return mp.with(futures.ProcessPoolExecutor(2), function(ex)
    assert(ex:submit(square, 0):result() == 0)
    local t = time.monotonic()
    for i = 0, 1999 do
      assert(ex:submit(square, i):result() == i * i)
    end
    return time.monotonic() - t
  end)
end

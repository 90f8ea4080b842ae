-- barrier: a Barrier of 2 parties, 5,000 rounds, one child and the parent
-- (bench.py's w_barrier).
local mp = require("multiprocessing")

local function barrier_rounds(b, n)
  for _ = 1, n do
    b:wait()
  end
end

return function()
  local b = mp.Barrier(2)
  local p = mp.Process{target = barrier_rounds, args = {b, 5000}}
  p:start()
  barrier_rounds(b, 5000)
  p:join()
end

-- manager_dict: 2 processes × 20,000 d[k] = d[k] + 1 on a Manager's dict
-- under a Lock (bench.py's w_manager_dict). Only the work is timed, from
-- the first start to the last join, as on the Python side, whose Manager
-- starts a server process first.
local mp = require("multiprocessing")
local time = require("time")

local function increment(lock, d, n)
  for _ = 1, n do
    mp.with(lock, function()
      d.count = d.count + 1
    end)
  end
end

return function()
  local manager = mp.Manager()
  local d = manager:dict{count = 0}
  local lock = mp.Lock()
  local ps = {}
  for i = 1, 2 do
    ps[i] = mp.Process{target = increment, args = {lock, d, 20000}}
  end
  local t = time.monotonic()
  for _, p in ipairs(ps) do p:start() end
  for _, p in ipairs(ps) do p:join() end
  local dt = time.monotonic() - t
  assert(d.count == 40000, d.count)
  manager:shutdown()
  return dt
end

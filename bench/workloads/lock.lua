-- lock: 2 processes × 50,000 increments of a Value('i', 0, lock=false)
-- under a separate Lock (bench.py's w_lock).
local mp = require("multiprocessing")

local function increment(lock, value, n)
  for _ = 1, n do
    mp.with(lock, function()
      value.value = value.value + 1
    end)
  end
end

return function()
  local lock = mp.Lock()
  local value = mp.Value("i", 0, false)
  local ps = {}
  for i = 1, 2 do
    ps[i] = mp.Process{target = increment, args = {lock, value, 50000}}
  end
  for _, p in ipairs(ps) do p:start() end
  for _, p in ipairs(ps) do p:join() end
  assert(value.value == 100000, value.value)
end

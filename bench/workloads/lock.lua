-- lock: 100,000 increments of a Value('i', 0, lock=false) under a
-- separate Lock, shared by n processes (2 unless a size is given: 2 ×
-- 50,000), as bench.py's w_lock.
local mp = require("multiprocessing")

local function increment(lock, value, n)
  for _ = 1, n do
    mp.with(lock, function()
      value.value = value.value + 1
    end)
  end
end

return function(size)
  local procs = size or 2
  local lock = mp.Lock()
  local value = mp.Value("i", 0, false)
  local ps = {}
  for i = 1, procs do
    ps[i] = mp.Process{target = increment, args = {lock, value, math.floor(100000 / procs)}}
  end
  for _, p in ipairs(ps) do p:start() end
  for _, p in ipairs(ps) do p:join() end
  assert(value.value == procs * (math.floor(100000 / procs)), value.value)
end

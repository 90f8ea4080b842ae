-- spawn_many: n processes with an empty target (10 unless a size is
-- given) started one after the other, then joined, as bench.py's
-- w_spawn_many.
local mp = require("multiprocessing")

local function noop() end

return function(size)
  local ps = {}
  for i = 1, size or 10 do
    ps[i] = mp.Process{target = noop}
    ps[i]:start()
  end
  for _, p in ipairs(ps) do p:join() end
end

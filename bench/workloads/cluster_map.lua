-- cluster_map: pool_map on a cluster pool, Pool{processes = 2, cluster =
-- "embedded"}:map(square, 1..n), n = 100,000 unless a size is given: the
-- map alone, as pool_map reports it, so that the two compare (what going
-- through the embedded NATS server costs). It needs a procsh built with
-- -tags cluster (bench.lua skips it in another).
local mp = require("multiprocessing")
local time = require("time")

local function square(x) return x * x end

return function(n)
  n = n or 100000
  local items = {}
  for i = 1, n do items[i] = i end
  return mp.with(mp.Pool{processes = 2, cluster = "embedded"}, function(pool)
    -- A local pool's workers have started when Pool returns; the cluster
    -- pool's worker starts its processes for the first tasks: warm up.
    pool:map(square, {1, 2, 3, 4}, 1)
    collectgarbage()
    local t = time.monotonic()
    local out = pool:map(square, items)
    local dt = time.monotonic() - t
    assert(out[#out] == n * n)
    return dt
  end)
end

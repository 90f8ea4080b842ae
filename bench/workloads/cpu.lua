-- cpu: 4 equal items per CPU (burn(1,000,000)) on Pool(cpu_count), and
-- the same on Pool(1): both in workers, so that the parent's garbage
-- collector and scheduling weigh on both alike. Prints the speedup of
-- Pool(n) over Pool(1) and reports the Pool(n) run, as bench.py's w_cpu.
local mp = require("multiprocessing")
local time = require("time")

local function burn(n)
  local s = 0
  for i = 0, n - 1 do s = s + i * i end
  return s
end

-- timed maps items on Pool(procs) and returns the map's time and results.
local function timed(procs, items)
  return mp.with(mp.Pool(procs), function(pool)
    local t = time.monotonic()
    local out = pool:map(burn, items, 1)
    return time.monotonic() - t, out
  end)
end

return function()
  local n = mp.cpu_count()
  local items = {}
  for i = 1, 4 * n do items[i] = 1000000 end
  local t1, one = timed(1, items)
  local tn, par = timed(n, items)
  for i = 1, #items do assert(par[i] == one[i]) end
  print(string.format("cpu speedup: %.2fx on %d processes (Pool(1) %.1f ms, Pool(%d) %.1f ms)", t1 / tn, n, t1 * 1000, n, tn * 1000))
  return tn
end

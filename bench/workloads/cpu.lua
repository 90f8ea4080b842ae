-- cpu: the speedup of Pool(cpu_count) over one process on 4 equal items
-- per CPU; prints it and reports the parallel run.
local mp = require("multiprocessing")
local time = require("time")

local function burn(n)
  local s = 0
  for i = 0, n - 1 do s = s + i * i end
  return s
end

return function()
  local items = {}
  for i = 1, 4 * mp.cpu_count() do items[i] = 1000000 end
  local t = time.monotonic()
  local serial = {}
  for i, n in ipairs(items) do serial[i] = burn(n) end
  local tSerial = time.monotonic() - t
  local tPar
  mp.with(mp.Pool(mp.cpu_count()), function(pool)
    t = time.monotonic()
    local par = pool:map(burn, items, 1)
    tPar = time.monotonic() - t
    for i = 1, #serial do assert(par[i] == serial[i]) end
  end)
  print(string.format("cpu speedup: %.2fx on %d processes", tSerial / tPar, mp.cpu_count()))
  return tPar
end

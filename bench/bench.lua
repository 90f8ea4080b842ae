-- The procsh side of the benchmark: the workloads of
-- bench/bench.py (CPython), same names, same sizes.
--
--   procsh bench/bench.lua                  # every workload, its usual size
--   procsh bench/bench.lua spawn queue      # only the named ones
--   procsh bench/bench.lua pool_map:10000   # at another size
--
-- Each line: `<workload>: <milliseconds> ms` (wall time of the workload
-- alone); with a size, `<workload>:<size>: <milliseconds> ms <units>
-- <unit>`, the units being what the cost per unit divides by (items,
-- messages, processes, increments). Workloads live in
-- bench/workloads/<name>.lua, each returning a function of the size
-- (nil: its usual one); one that returns a number reports that many
-- seconds instead of its whole run (as the Python side does for
-- pool_map).
local time = require("time")

local order = {"spawn", "pool_map", "apply_async", "futures_submit", "lock", "queue", "barrier", "cpu", "manager_dict", "cluster_map"}
local dir = (arg and arg[0] or "bench/bench.lua"):match("^(.*)/[^/]*$") or "."

-- What a workload's size counts, and how many units a run of that size
-- does: the cost per unit is the time divided by them. Python's side
-- has the same table (UNITS in bench.py).
local units = {
  pool_map = {"item", function(n) return n end},
  spawn_many = {"process", function(n) return n end},
  lock = {"increment", function() return 100000 end},
  queue_bytes = {"message", function(n) return math.max(200, math.min(50000, math.floor(256 * 2 ^ 20 / n))) end},
  apply_async = {"round trip", function(n) return n end},
}

local names = {}
for i = 1, #arg do names[#names + 1] = arg[i] end
if #names == 0 then names = order end

-- cluster_map needs a procsh built with -tags cluster: another skips it,
-- saying so. (Such a procsh refuses the option at once, starting nothing.)
for i = #names, 1, -1 do
  if names[i]:match("^cluster_map") then
    local _, err = pcall(require("multiprocessing").Pool, {cluster = "?"})
    if tostring(type(err) == "table" and err.message):find("without cluster support") then
      io.stderr:write(names[i] .. ": skipped: this procsh was built without cluster support (go build -tags cluster)\n")
      table.remove(names, i)
    end
  end
end

for _, spec in ipairs(names) do
  local name, size = spec:match("^([%w_]+):(%d+)$")
  name = name or spec
  size = tonumber(size)
  local chunk = loadfile(dir .. "/workloads/" .. name .. ".lua")
  if not chunk then
    io.stderr:write(name .. ": no such workload yet (bench/workloads/" .. name .. ".lua)\n")
  else
    local workload = chunk()
    local t = time.monotonic()
    local inner = workload(size)
    local dt = inner or (time.monotonic() - t)
    if size then
      local u = units[name]
      print(string.format("%s:%d: %.1f ms %d %s", name, size, dt * 1000, u and u[2](size) or 1, u and u[1] or "run"))
    else
      print(string.format("%s: %.1f ms", name, dt * 1000))
    end
  end
end

-- The procsh side of the benchmark: the workloads of
-- bench/bench.py (CPython), same names, same sizes.
--
--   procsh bench/bench.lua                # every workload
--   procsh bench/bench.lua spawn queue    # only the named ones
--
-- Each line: `<workload>: <milliseconds> ms` (wall time of the workload
-- alone). Workloads live in bench/workloads/<name>.lua, each returning a
-- function; one that returns a number reports that many seconds instead
-- of its whole run (as the Python side does for pool_map).
local time = require("time")

local order = {"spawn", "pool_map", "apply_async", "futures_submit", "lock", "queue", "barrier", "cpu", "manager_dict", "cluster_map"}
local dir = (arg and arg[0] or "bench/bench.lua"):match("^(.*)/[^/]*$") or "."

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

for _, name in ipairs(names) do
  local chunk = loadfile(dir .. "/workloads/" .. name .. ".lua")
  if not chunk then
    io.stderr:write(name .. ": no such workload yet (bench/workloads/" .. name .. ".lua)\n")
  else
    local workload = chunk()
    local t = time.monotonic()
    local inner = workload()
    local dt = inner or (time.monotonic() - t)
    print(string.format("%s: %.1f ms", name, dt * 1000))
  end
end

-- A Pool with error handling: one task fails, one worker is killed
-- mid-task, and everything else still completes.
local mp = require("multiprocessing")
local time = require("time")

local function check(n)
  if n == 3 then error("3 is unlucky") end
  if n == 5 then os.exit(9) end          -- the worker dies mid-task
  time.sleep(0.05)
  return n * 10
end

mp.with(mp.Pool(2), function(pool)
  local results = {}
  for i = 1, 6 do
    results[i] = pool:apply_async(check, {i})
  end
  for i, r in ipairs(results) do
    local ok, value = pcall(r.get, r, 5)
    if ok then
      print(i, "ok", value)
    else
      print(i, value.type, value.message or tostring(value))
    end
  end
end)

-- spawning.lua: six processes started and joined in a loop.
-- (Python: spawning_processes.py)
local mp = require("multiprocessing")
local do_something = require("lib.do_something")

local function myFunc(i)
  print("calling do_something from process no: " .. i)
  local out = {}
  do_something(i * 1000, out)
  print("Process " .. i .. " finished with " .. #out .. " results.")
end

for i = 0, 5 do
  local process = mp.Process{target = myFunc, args = {i}}
  process:start()
  process:join()
end

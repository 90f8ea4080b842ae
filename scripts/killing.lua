-- killing.lua: start a process, terminate it, join it, read its exit code.
-- (Python: killing_processes.py)
local mp = require("multiprocessing")
local time = require("time")
local do_something = require("lib.do_something")

local function foo()
  print("Starting function (do_something)")
  local out = {}
  do_something(10, out)
  time.sleep(0.1)
  print("Finished function with " .. #out .. " results")
end

local p = mp.Process{target = foo}
p:start()
print("Process running:", p:is_alive())
p:terminate()
time.sleep(0.1)
print("Process terminated:", p:is_alive())
p:join()
print("Process joined:", p:is_alive())
-- -15: the child was ended by signal 15, SIGTERM (the seed's sample says 0).
print("Process exit code:", p.exitcode)

-- daemons.lua: a daemon and a non-daemon process; the main program ends
-- and the daemon is terminated with it, while the non-daemon completes.
-- (Python: run_background_processes_no_daemons.py)
local mp = require("multiprocessing")
local time = require("time")
local do_something = require("lib.do_something")
local show = require("lib.show")

local function foo()
  local name = mp.current_process().name
  print("Starting " .. name)
  if name == "background_process" then
    for i = 0, 9 do
      print(string.format("---> %d", i))
      time.sleep(0.25)
    end
  else
    local out = {}
    for _ = 1, 3 do
      do_something(1, out)
      time.sleep(0.25)
    end
    print("Results from do_something(): " .. show(out))
  end
  print("Exiting " .. name)
end

local background_process = mp.Process{name = "background_process", target = foo}
background_process.daemon = true
local NO_background_process = mp.Process{name = "NO_background_process", target = foo}
NO_background_process.daemon = false
background_process:start()
NO_background_process:start()
-- Wait for the worker so that the daemon has time to tick; then the main
-- program ends, and with it the daemon: it never prints its exit line.
NO_background_process:join()
print("Main program ends: the daemon is terminated now")

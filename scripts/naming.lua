-- naming.lua: a named process and a default-named one, run concurrently.
-- (Python: naming_processes.py)
local mp = require("multiprocessing")
local time = require("time")
local do_something = require("lib.do_something")

-- Each child fills the list it was given, and says how long it is.
local function fill(count, out_list)
  do_something(count, out_list)
  print(mp.current_process().name .. " output list length: " .. #out_list)
end

local out_list1, out_list2 = {}, {}
local process_with_name = mp.Process{
  name = "do_something process 1", target = fill, args = {1000, out_list1}}
local process_with_default_name = mp.Process{
  target = fill, args = {1000, out_list2}}
local start = time.time()
process_with_name:start()
process_with_default_name:start()
print("Started " .. process_with_name.name .. " and " .. process_with_default_name.name)
process_with_name:join()
process_with_default_name:join()
print("Parent's list 1 length: " .. #out_list1)
print("Parent's list 2 length: " .. #out_list2)
print("Why 0: each child filled its own copy of the list, made at start(); nothing comes back to the parent.")
print(string.format("Total execution time: %.2f seconds", time.time() - start))

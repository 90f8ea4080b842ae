-- barrier.lua: two processes meet at a Barrier and print, under a Lock,
-- the time they left it; two others print whenever they run.
-- (Python: processes_barrier.py)
local mp = require("multiprocessing")
local time = require("time")
local do_something = require("lib.do_something")
local show = require("lib.show")

local function test_with_barrier(synchronizer, serializer)
  local name = mp.current_process().name
  synchronizer:wait()
  local now = time.time()
  mp.with(serializer, function()
    local out = {}
    do_something(2, out)
    print(string.format("process %s ----> %s", name, time.strftime("%Y-%m-%d %H:%M:%S.%f", now)))
    print(string.format("%s results: %s", name, show(out)))
  end)
end

local function test_without_barrier()
  local name = mp.current_process().name
  local now = time.time()
  local out = {}
  do_something(2, out)
  print(string.format("process %s ----> %s", name, time.strftime("%Y-%m-%d %H:%M:%S.%f", now)))
  print(string.format("%s results: %s", name, show(out)))
end

local synchronizer = mp.Barrier(2)
local serializer = mp.Lock()
mp.Process{name = "p1 - test_with_barrier", target = test_with_barrier, args = {synchronizer, serializer}}:start()
mp.Process{name = "p2 - test_with_barrier", target = test_with_barrier, args = {synchronizer, serializer}}:start()
mp.Process{name = "p3 - test_without_barrier", target = test_without_barrier}:start()
mp.Process{name = "p4 - test_without_barrier", target = test_without_barrier}:start()

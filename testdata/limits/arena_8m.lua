-- Run with --arena-size 8M (limits_test.go): a message larger than the
-- arena raises ArenaFullError in the process that puts it, on every kind
-- of queue and on a pipe, and the reader gets nothing in its place.
local mp = require("multiprocessing")
local assert = require("assert")
local procs = require("procs")

local huge = string.rep("z", 40 * 1000 * 1000)
local results = mp.SimpleQueue{ring_size = 65536}

local queues = {
  Queue = mp.Queue{ring_size = 65536}, -- unbounded: the feeder's path
  bounded = mp.Queue{maxsize = 4, ring_size = 65536},
  JoinableQueue = mp.JoinableQueue{ring_size = 65536},
  SimpleQueue = mp.SimpleQueue{ring_size = 65536},
}
local r, w = mp.Pipe(false)

local p = procs.start(function()
  local function try(name, fn)
    local ok, err = pcall(fn)
    results:put({name = name, ok = ok, type = type(err) == "table" and err.type or nil, msg = tostring(err)})
  end
  for name, q in pairs(queues) do
    try(name, function() q:put(huge) end)
    q:put("next")
  end
  try("Pipe", function() w:send(huge) end)
  w:send("next")
end)

for _ = 1, 5 do
  local res = results:get()
  assert.falsy(res.ok, res.name .. ": the put of 40 MB returned")
  assert.eq(res.type, "ArenaFullError", res.name .. ": " .. res.msg)
  assert.truthy(res.msg:find("the arena holds 8M", 1, true), res.name .. ": the error names the arena's size: " .. res.msg)
end
for name, q in pairs(queues) do
  assert.eq(q:get{timeout = 10}, "next", name .. ": the item after the one that failed")
end
assert.eq(r:recv(), "next", "Pipe: the message after the one that failed")
assert.eq(queues.JoinableQueue:qsize(), 0)
queues.JoinableQueue:task_done()
assert.truthy(queues.JoinableQueue:join(1), "the failed put is not unfinished")

-- The same in this process.
assert.errtype(function() queues.Queue:put(huge) end, "ArenaFullError")
assert.errtype(function() queues.JoinableQueue:put(huge) end, "ArenaFullError")
assert.errtype(function() w:send(huge) end, "ArenaFullError")
assert.truthy(queues.Queue:empty())
procs.finish(p, "the child that put too much")

-- Items a child's feeder still holds when it ends after
-- cancel_join_thread() are dropped, and their blocks given back.
local full = mp.Queue{ring_size = 1024}
local c = procs.start(function()
  full:cancel_join_thread()
  for i = 1, 100 do full:put(i) end -- more than the ring holds
  for _ = 1, 4 do full:put(string.rep("p", 1500000)) end
end)
procs.finish(c, "the child that dropped its pending items")
local big = string.rep("b", 5000000)
local q = mp.Queue{ring_size = 1024}
q:put(big)
assert.eq(#q:get(true, 5), #big, "5 MB fit again in the 8 MiB arena")

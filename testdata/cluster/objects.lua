-- mp.cluster's objects, shared by a cluster pool's tasks and the root:
-- a counter by compare-and-swap, a sum under a lock, a queue, a lock
-- whose holder died. Run by TestClusterObjects (cluster_test.go).
local mp = require("multiprocessing")
local assert = require("assert")
local time = require("time")

local pool = mp.Pool{processes = 2, cluster = "embedded"}
local c = mp.cluster.connect(pool)
local items = {}
for i = 1, 20 do items[i] = i end

-- Twenty increments from tasks, each by compare-and-swap: none is lost.
local hits = c:Value("q", 0, "hits")
assert.eq(hits:get(), 0, "a new value")
pool:map(function(x)
  repeat local old = hits:get() until hits:compare_and_swap(old, old + 1)
end, items, 1)
assert.eq(hits:get(), 20, "the counter")
assert.eq({hits:compare_and_swap(3, 4)}, {false, 20}, "a swap from a stale value")
assert.eq(c:Value("q", 99, "hits"):get(), 20, "an existing value keeps its value")

-- A sum of reads and writes, each task holding the lock.
local lock = c:Lock("guard")
local sum = c:Value("d", 0, "sum")
pool:map(function(x)
  mp.with(lock, function()
    local v = sum:get()
    sum:set(v + x)
  end)
end, items, 1)
assert.eq(sum:get(), 210, "the sum under the lock")

-- Tasks put, the root takes.
local q = c:Queue("results")
pool:map(function(x) q:put({x = x, s = tostring(x)}) end, {1, 2, 3, 4, 5}, 1)
assert.eq(q:qsize(), 5, "items waiting")
local got = {}
for _ = 1, 5 do
  local v = q:get(10)
  got[v.x] = v.s
end
assert.eq(got, {"1", "2", "3", "4", "5"}, "the items")
assert.errtype(function() q:get(0.2) end, "Empty")
assert.errtype(function() q:get(false) end, "Empty")
assert.truthy(q:empty(), "the queue emptied")
q:put(string.rep("x", 3e6))
assert.eq(#q:get(5), 3e6, "a large item")

-- One process's view of a lock.
assert.truthy(lock:acquire(false), "acquire")
assert.truthy(lock:locked(), "locked")
local other = c:Lock("guard")
assert.falsy(other:acquire(false), "acquire while held")
local t0 = time.monotonic()
assert.falsy(other:acquire(true, 0.3), "acquire with a timeout while held")
assert.between(time.monotonic() - t0, 0.25, 3, "the timeout")
assert.errtype(function() lock:acquire() end, "RuntimeError")
lock:release()
assert.falsy(lock:locked(), "released")
assert.errtype(function() lock:release() end, "ValueError")

-- A holder that dies holding the lock: once its lease ends, the next
-- acquire takes it over, with a warning.
local short = c:Lock("short", {lease = 1})
local p = mp.Process{target = function() short:acquire() os.exit(0) end}
p:start()
p:join()
assert.truthy(short:locked(), "held by a dead process")
t0 = time.monotonic()
assert.truthy(short:acquire(true, 10), "taken over")
assert.between(time.monotonic() - t0, 0, 3, "the lease's end")
short:release()

-- What does not go.
assert.errtype(function() q:put(mp.Lock()) end, "SerializationError")
assert.errtype(function() c:Value("i", 0, "hits") end, "TypeError")
assert.errtype(function() c:Value("i", 0.5, "half") end, "ValueError")
assert.errtype(function() c:Lock("no spaces") end, "ValueError")
c:close()
assert.errtype(function() c:Queue("x") end, "ValueError")
pool:close()
pool:join(20)
print("ok")

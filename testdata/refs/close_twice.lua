-- Closing the same Array in a child and in the parent frees it once: two
-- Arrays made afterwards do not share memory.
local mp = require("multiprocessing")
local assert = require("assert")
local procs = require("procs")

local n = 100000 -- 800 KB of doubles: a large block
local a = mp.Array("d", n, false)
procs.finish(procs.start(function(x) x:close() end, a), "child closes its Array")
a:close()
local b = mp.Array("d", n, false)
local c = mp.Array("d", n, false)
for i = 1, n, 97 do b[i] = i end
for i = 1, n, 97 do assert.eq(c[i], 0, "element " .. i .. " of the second Array") end

-- A child's v:close() leaves the parent's Value usable and its own.
local v = mp.Value("i", 7)
procs.finish(procs.start(function(x)
  x:close()
  assert.errtype(function() return x.value end, "ValueError")
end, v), "child closes its Value")
assert.eq(v.value, 7)
local others = {}
for i = 1, 50 do others[i] = mp.Value("i", 1000 + i) end
v.value = 8
for i = 1, 50 do assert.eq(others[i].value, 1000 + i, "new Value " .. i) end
assert.eq(v.value, 8)
v:get_lock():acquire()
v:get_lock():release()

-- A handle in flight keeps its object: the Lock put on a queue outlives
-- the close of the only other handle.
local q = mp.Queue()
local l = mp.Lock()
q:put(l)
l:close()
local locks = {}
for i = 1, 50 do locks[i] = mp.Lock() end
local l2 = q:get(5)
assert.truthy(l2:acquire(false), "the Lock from the queue")
for i = 1, 50 do assert.falsy(locks[i]:locked(), "new Lock " .. i) end
l2:release()

-- A Condition and a Value keep the Lock they were made on.
local lk = mp.Lock()
local cond = mp.Condition(lk)
local val = mp.Value("i", 1, lk)
lk:close()
for i = 1, 50 do locks[i] = mp.Lock() end
cond:acquire()
for i = 1, 50 do assert.falsy(locks[i]:locked(), "new Lock " .. i .. " with the Condition held") end
assert.truthy(val:get_lock():locked(), "the Value shares the Condition's lock")
cond:release()

-- Pool workers each decode the function and its upvalues: each takes
-- references of its own and the parent's stay.
local plk = mp.Lock()
local pool = mp.Pool(3)
local got = pool:map(function(x)
  plk:acquire()
  plk:release()
  return x * 2
end, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 1)
assert.eq(got[12], 24)
pool:close()
pool:join()
assert.truthy(plk:acquire(false), "the parent's Lock after the pool")
for i = 1, 50 do locks[i] = mp.Lock() end
for i = 1, 50 do assert.falsy(locks[i]:locked(), "new Lock " .. i .. " after the pool") end
plk:release()

-- The start message, decoded by every worker (six here: one task each).
local ilk = mp.Lock()
local pool2 = mp.Pool(2, function(l) INIT_LOCK = l end, {ilk}, 1)
got = pool2:map(function(x)
  INIT_LOCK:acquire()
  INIT_LOCK:release()
  return x
end, {1, 2, 3, 4, 5, 6}, 1)
assert.eq(got[6], 6)
pool2:close()
pool2:join()
assert.truthy(ilk:acquire(false), "the parent's Lock after the workers' exits")
for i = 1, 50 do locks[i] = mp.Lock() end
for i = 1, 50 do assert.falsy(locks[i]:locked(), "new Lock " .. i .. " after the second pool") end
ilk:release()
print("close_twice ok")

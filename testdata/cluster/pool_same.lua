-- A cluster pool on the embedded server gives what a local pool gives:
-- every method, callbacks, chunksize, initializer, errors, close/join.
-- Run by TestClusterPoolSameAsLocal (cluster_test.go).
local mp = require("multiprocessing")
local assert = require("assert")

base = 10 -- a global: travels with the pool's start payload

local function square(x) return x * x end
local function describe(x)
  if x % 3 == 0 then error("three divides " .. x) end
  return {x = x, s = tostring(x) .. "!", base = base, init = INIT}
end
local function add(a, b, c) return a + b + (c or 0) end

-- run makes a pool with opts, gives it to each step, and returns what
-- the steps returned, errors as {type, message}.
local function run(opts)
  opts.initializer = function(v) INIT = v end
  opts.initargs = {"ready"}
  local pool = mp.Pool(opts)
  local out = {}
  local function try(name, fn)
    local ok, v = pcall(fn)
    if ok then out[name] = v else out[name] = {err = v.type, msg = v.message} end
  end
  try("map", function() return pool:map(square, {1, 2, 3, 4, 5, 6, 7}) end)
  try("map_chunks", function() return pool:map(square, {1.5, -2, 1e300, 0 / 0 ~= 0 / 0 and 3 or 4}, 2) end)
  try("map_tables", function() return pool:map(function(x) return {x, {y = x}} end, {1, 2, 3}, 1) end)
  try("map_error", function() return pool:map(describe, {1, 3}, 1) end)
  try("starmap", function() return pool:starmap(add, {{1, 2}, {3, 4, 5}, {6, 7, n = 3}}) end)
  try("apply", function() return pool:apply(add, {1, 2, 3}) end)
  try("apply_error", function() return pool:apply(describe, {6}) end)
  try("imap", function()
    local got = {}
    for i, v in pool:imap(describe, {1, 2, 4, 5}) do got[i] = v end
    return got
  end)
  try("imap_pulled", function()
    local n, got = 0, {}
    local function items() n = n + 1; if n <= 5 then return n end end
    for i, v in pool:imap(square, items, 2) do got[i] = v end
    return got
  end)
  try("imap_unordered", function()
    local got = {}
    for _, v in pool:imap_unordered(square, {3, 1, 2}) do got[#got + 1] = v end
    table.sort(got)
    return got
  end)
  try("async", function()
    local called, errored = {}, {}
    local r1 = pool:map_async(square, {2, 3}, nil, function(v) called.map = v end)
    local r2 = pool:apply_async(describe, {9}, {error_callback = function(e) errored[#errored + 1] = e.type end})
    local r3 = pool:starmap_async(add, {{1, 1}}, {callback = function(v) called.star = v end})
    r1:wait(20); r2:wait(20); r3:wait(20)
    local v1 = r1:get(20)
    local ok2 = pcall(r2.get, r2, 20)
    return {v1 = v1, ok2 = ok2, successful = {r1:successful(), r2:successful()}, called = called, errored = errored, r3 = r3:get(20)}
  end)
  pool:close()
  out.join = pool:join(20)
  out.state = tostring(pool):match("state=(%u+)")
  try("after_close", function() return pool:map(square, {1}) end)
  return out
end

local localOut = run({processes = 2})
local clusterOut = run({processes = 2, cluster = "embedded"})
for k, v in pairs(localOut) do
  assert.eq(clusterOut[k], v, "cluster pool's " .. k)
end
for k in pairs(clusterOut) do
  assert.truthy(localOut[k] ~= nil, "local pool's " .. k)
end

-- terminate and with: unfinished tasks fail with ProcessError, as on a
-- local pool.
do
  local pool = mp.Pool{processes = 1, cluster = "embedded"}
  local r = pool:apply_async(function() local t = require("time") t.sleep(30) end)
  local t0 = require("time").monotonic()
  pool:terminate()
  local err = assert.errtype(function() r:get(5) end, "ProcessError")
  assert.between(require("time").monotonic() - t0, 0, 5, "terminate's time")
  assert.eq(#mp.active_children(), 0, "children after terminate")
end

-- Shared objects do not go to a cluster: a SerializationError saying
-- why, before anything is sent; a global holding one is left out, and a
-- worker using it raises.
lock = mp.Lock()
do
  local pool = mp.Pool{processes = 1, cluster = "embedded"}
  local q = mp.Queue()
  local err = assert.errtype(function() pool:map(function(x) q:put(x) end, {1}) end, "SerializationError")
  assert.truthy(err.message:find("cannot send a Queue %(function of upvalue 'q'%) to a cluster worker"), err.message)
  err = assert.errtype(function() pool:apply(function(l) return 1 end, {lock}) end, "SerializationError")
  assert.truthy(err.message:find("Lock %(args%[1%]%)"), err.message)
  err = assert.errtype(function() pool:map(square, {1, {lock}}) end, "SerializationError")
  assert.truthy(err.message:find("list%[2%]"), err.message)
  err = assert.errtype(function() pool:apply(function() return lock:acquire() end) end, "RemoteError")
  assert.truthy(err.message:find("global 'lock' was not sent to this cluster worker"), err.message)
  -- A result holding a shared object cannot come back.
  err = assert.errtype(function() pool:apply(function() return mp.Lock() end) end, "SerializationError")
  assert.truthy(err.message:find("cluster worker"), err.message)
  -- The pool still works.
  assert.eq(pool:map(square, {4}), {16})
  pool:terminate()
end

-- concurrent.futures on the same cluster pool.
do
  local futures = require("concurrent.futures")
  local ex = futures.ProcessPoolExecutor{max_workers = 2, cluster = "embedded"}
  local fs = {}
  for i = 1, 5 do fs[i] = ex:submit(square, i) end
  for i = 1, 5 do assert.eq(fs[i]:result(30), i * i, "future " .. i) end
  local got = {}
  for i, v in ex:map(square, {7, 8}) do got[i] = v end
  assert.eq(got, {49, 64}, "executor map")
  local err = assert.errtype(function() ex:submit(describe, 3):result(30) end, "RemoteError")
  assert.truthy(err.message:find("three divides 3"), err.message)
  ex:shutdown()
  assert.errtype(function() futures.ProcessPoolExecutor{cluster = "tcp"} end, "ValueError")
end

-- Options.
assert.errtype(function() mp.Pool{cluster = "tcp"} end, "ValueError")
assert.errtype(function() mp.Pool{cluster = "embedded", retries = -1} end, "ValueError")
assert.errtype(function() mp.Pool{cluster = "embedded", listen = "0.0.0.0:0"} end, "ValueError")
assert.errtype(function() mp.Pool{cluster = "nats://127.0.0.1:1", listen = "127.0.0.1:0"} end, "ValueError")
assert.errtype(function() mp.Pool{token = "x"} end, "ValueError")
assert.errtype(function() mp.Pool{processes = 0} end, "ValueError")
local err = assert.errtype(function() mp.Pool{cluster = "nats://127.0.0.1:1", processes = 0} end, "ConnectionError")
print("ok")

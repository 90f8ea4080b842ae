-- Pool: map, starmap, imap, imap_unordered, apply and their async forms,
-- as CPython's _TestPool checks them.
local mp = require("multiprocessing")
local assert = require("assert")

local function sqr(x) return x * x end
local function add(a, b) return a + b end
local function range(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end
local function squares(n)
  local t = {}
  for i = 1, n do t[i] = i * i end
  return t
end

-- withPool calls f with a pool of four workers, then terminates it.
local function withPool(f)
  local pool = mp.Pool(4)
  f(pool)
  pool:terminate()
end

function test_constructor_checks()
  assert.errtype(function() mp.Pool(0) end, "ValueError")
  assert.errtype(function() mp.Pool(-1) end, "ValueError")
  assert.errtype(function() mp.Pool{processes = 2, initializer = 5} end, "TypeError")
  assert.errtype(function() mp.Pool{processes = 2, maxtasksperchild = 0} end, "ValueError")
  assert.truthy(tostring(mp.Pool):find("function"), "mp.Pool is a function")
end

-- Workers are daemon children named PoolWorker-N, listed as active.
function test_workers()
  withPool(function(pool)
    assert.eq(tostring(pool), "<Pool processes=4 state=RUN>")
    local kids = mp.active_children()
    assert.eq(#kids, 4, "active children")
    local names = {}
    for _, k in ipairs(kids) do
      assert.truthy(k.daemon, "worker is a daemon")
      names[#names + 1] = k.name
    end
    table.sort(names)
    assert.eq(names, {"PoolWorker-1", "PoolWorker-2", "PoolWorker-3", "PoolWorker-4"})
  end)
end

-- apply, map, starmap (with and without chunksize).
function test_apply_map_starmap()
  withPool(function(pool)
    assert.eq(pool:apply(sqr, {5}), 25)
    assert.eq(pool:apply(function() return "no args" end), "no args")
    assert.eq(pool:map(sqr, range(10)), squares(10))
    assert.eq(pool:map(sqr, range(100), 100), squares(100))
    assert.eq(pool:map(sqr, range(100), 1), squares(100))
    assert.eq(pool:map(sqr, range(1000), 7), squares(1000))
    assert.eq(pool:starmap(add, {{1, 2}, {3, 4}, {5, 6}}), {3, 7, 11})
    assert.eq(pool:starmap(add, {{1, 2}, {3, 4}}, 1), {3, 7})
    -- nil arguments survive with an n field; nil results leave holes.
    assert.eq(pool:starmap(function(a, b) return b == nil and a end, {table.pack(7, nil)}), {7})
    local holes = pool:map(function(x) if x % 2 == 0 then return x end end, range(6))
    assert.eq(holes[2], 2); assert.eq(holes[1], nil); assert.eq(holes[6], 6)
  end)
end

function test_empty_lists()
  withPool(function(pool)
    assert.eq(pool:map(sqr, {}), {})
    assert.eq(pool:map(sqr, {}, 1), {})
    assert.eq(pool:starmap(add, {}), {})
    for _ in pool:imap(sqr, {}) do error("imap of nothing yielded") end
    for _ in pool:imap_unordered(sqr, {}) do error("imap_unordered of nothing yielded") end
    assert.eq(pool:map_async(sqr, {}):get(5), {})
  end)
end

-- Chunksize errors, as Python's.
function test_argument_errors()
  withPool(function(pool)
    local e = assert.errtype(function() pool:map(sqr, range(3), 0) end, "ValueError")
    assert.eq(e.message, "Pool: got chunksize 0, want a whole number, 1 or more")
    assert.errtype(function() pool:map(sqr, 5) end, "TypeError")
    assert.errtype(function() pool:map(5, range(3)) end, "TypeError")
    assert.errtype(function() pool:starmap(add, {1, 2}) end, "TypeError")
  end)
end

-- Values of every kind travel both ways, upvalues included.
function test_values_both_ways()
  withPool(function(pool)
    local base = {k = "v", list = {1, 2, 3}}
    local got = pool:apply(function(t) return {t = t, base = base, s = "x" .. t.n} end, {{n = 1}})
    assert.eq(got, {t = {n = 1}, base = base, s = "x1"})
  end)
end

-- imap: in order, with the input's index; chunksize works.
function test_imap()
  withPool(function(pool)
    local seen = {}
    for i, r in pool:imap(sqr, range(10)) do seen[#seen + 1] = {i, r} end
    local want = {}
    for i = 1, 10 do want[i] = {i, i * i} end
    assert.eq(seen, want)
    seen = {}
    for i, r in pool:imap(sqr, range(1000), 100) do seen[i] = r end
    assert.eq(seen, squares(1000))
    -- nil results do not end the loop.
    local count = 0
    for i, r in pool:imap(function() return nil end, range(5)) do count = count + 1; assert.eq(r, nil) end
    assert.eq(count, 5)
  end)
end

-- imap_unordered: every index once, results match.
function test_imap_unordered()
  withPool(function(pool)
    local got2 = {}
    for i, r in pool:imap_unordered(sqr, range(1000), 53) do
      assert.eq(got2[i], nil, "index seen twice")
      got2[i] = r
    end
    assert.eq(got2, squares(1000))
  end)
end

function test_async_forms()
  withPool(function(pool)
    local r = pool:apply_async(sqr, {7})
    assert.eq(r:get(10), 49)
    assert.truthy(r:ready()); assert.truthy(r:successful())
    assert.eq(r:get(), 49, "get twice")
    assert.eq(pool:map_async(sqr, range(10)):get(10), squares(10))
    assert.eq(pool:starmap_async(add, {{1, 2}, {3, 4}}):get{timeout = 10}, {3, 7})
    assert.truthy(tostring(r):find("<AsyncResult apply_async ready successful>", 1, true), tostring(r))
  end)
end

-- A function sent once per call: a map over many chunks works whatever
-- order the workers take them; many calls interleave.
function test_interleaved_calls()
  withPool(function(pool)
    local rs = {}
    for k = 1, 40 do rs[k] = pool:map_async(function(x) return x + k end, range(20), 3) end
    for k = 1, 40 do
      local w = {}
      for i = 1, 20 do w[i] = i + k end
      assert.eq(rs[k]:get(10), w, "interleaved call " .. k)
    end
  end)
end

-- Globals are a snapshot taken when the pool was made.
function test_globals_snapshot()
  withPool(function(pool)
    LATE_GLOBAL = "late"
    assert.eq(pool:apply(function() return LATE_GLOBAL end), nil)
  end)

  EARLY_GLOBAL = "early"
  local p2 = mp.Pool{processes = 1}
  assert.eq(p2:apply(function() return EARLY_GLOBAL end), "early")
  -- A worker's changes stay in the worker.
  p2:apply(function() EARLY_GLOBAL = "changed" end)
  assert.eq(EARLY_GLOBAL, "early")
  assert.eq(p2:apply(function() return EARLY_GLOBAL end), "changed", "the worker kept its own change")
  p2:close()
  assert.eq(p2:join(10), true)
end

-- A map whose tasks have all answered is done, even while every worker
-- is busy with other calls' tasks and more wait in the queue: its
-- results are not kept waiting for that queue to empty.
function test_map_done_behind_busy_queue()
  local n = mp.cpu_count()
  local pool = mp.Pool(n)
  local ev = mp.Event()
  local r = pool:map_async(sqr, range(2000), 10)
  local waits = {}
  for i = 1, n + 1 do waits[i] = pool:apply_async(function(e) return e:wait(60) end, {ev}) end
  local ok, out = pcall(r.get, r, 20)
  ev:set()
  assert.truthy(ok, "the map waited for the queue: " .. tostring(out))
  assert.eq(out, squares(2000))
  for i = 1, n + 1 do assert.eq(waits[i]:get(30), true) end
  pool:close()
  assert.eq(pool:join(30), true)
end

-- A Manager's dict: indexing as a Lua table, every method and error,
-- values of every kind, and children sharing it.
local mp = require("multiprocessing")
local assert = require("assert")
local procs = require("procs")

function test_index_and_set()
  local m = mp.Manager()
  local d = m:dict()
  assert.eq(#d, 0)
  assert.eq(d.missing, nil)
  d.a = 1
  d["b c"] = "two"
  d[3] = {x = {1, 2, 3}}
  d[true] = false
  assert.eq(d.a, 1)
  assert.eq(d["b c"], "two")
  assert.eq(d[3], {x = {1, 2, 3}})
  assert.eq(d[true], false)
  assert.eq(#d, 4)
  assert.eq(d:len(), 4)
  -- Numbers are keys as in Lua: 1 and 1.0 are one key, so are 0 and -0.
  d[1] = "int"
  d[1.0] = "float"
  local zero = 0 -- -zero is -0, made at run time: the compiler merges a literal -0 with 0
  d[0] = "zero"
  d[-zero] = "minus zero"
  assert.eq(#d, 6)
  assert.eq(d[1], "float")
  assert.eq(d[0], "minus zero")
  -- nil deletes, as in a table.
  d.a = nil
  assert.eq(d.a, nil)
  assert.eq(#d, 5)
  d.never = nil -- deleting what is not there is nothing
  -- Numbers keep their exact value.
  d.f = 0.1
  d.big = 2 ^ 60
  d.neg = -zero
  assert.eq(d.f, 0.1)
  assert.eq(d.big, 2 ^ 60)
  assert.eq(1 / d.neg, -math.huge)
  m:shutdown()
end

function test_methods()
  local m = mp.Manager()
  local d = m:dict{a = 1}
  assert.eq(d:get("a"), 1)
  assert.eq(d:get("zz"), nil)
  assert.eq(d:get("zz", "default"), "default")
  -- setdefault: the value, set first when missing.
  assert.eq(d:setdefault("a", 5), 1)
  assert.eq(d:setdefault("b", 2), 2)
  assert.eq(d.b, 2)
  assert.eq(d:setdefault("c"), nil) -- no default: nothing set
  assert.eq(#d, 2)
  -- pop: the value, removed; the default or KeyError when missing.
  assert.eq(d:pop("b"), 2)
  assert.eq(d:pop("b", "gone"), "gone")
  assert.eq(d:pop("b", nil), nil)
  local err = assert.errtype(function() d:pop("b") end, "KeyError")
  assert.truthy(err.message:find('DictProxy.pop: no key "b"', 1, true), err.message)
  -- Insertion order, kept by replacing a value.
  d:update{x = 10}
  d.y = 20
  d.a = 100
  assert.eq(d:keys(), {"a", "x", "y"})
  assert.eq(d:values(), {100, 10, 20})
  local seen = {}
  for k, v in d:items() do seen[#seen + 1] = k .. "=" .. v end
  assert.eq(seen, {"a=100", "x=10", "y=20"})
  -- popitem: the last set, LIFO.
  local k, v = d:popitem()
  assert.eq({k, v}, {"y", 20})
  -- update from another dict, copy to a plain table.
  local other = m:dict{y = 2, z = 3}
  d:update(other)
  local t = d:copy()
  assert.eq(getmetatable(t), nil)
  assert.eq(t, {a = 100, x = 10, y = 2, z = 3})
  d:clear()
  assert.eq(#d, 0)
  assert.errtype(function() d:popitem() end, "KeyError")
  m:shutdown()
end

-- A key named like a method reads through get; setting it works.
function test_method_names_as_keys()
  local m = mp.Manager()
  local d = m:dict()
  d.keys = "a value"
  assert.eq(type(d.keys), "function")
  assert.eq(d:get("keys"), "a value")
  assert.eq(d:keys(), {"keys"})
  m:shutdown()
end

-- Keys are equal when their encodings are: strings by content, tables by
-- content too.
function test_table_keys()
  local m = mp.Manager()
  local d = m:dict()
  d[{1, 2}] = "list"
  assert.eq(d[{1, 2}], "list")
  assert.eq(d[{2, 1}], nil)
  m:shutdown()
end

function test_errors()
  local m = mp.Manager()
  local d = m:dict()
  assert.errtype(function() d[nil] = 1 end, "TypeError")
  assert.eq(d[nil], nil)
  assert.errtype(function() d[0 / 0] = 1 end, "ValueError")
  assert.eq(d[0 / 0], nil)
  local err = assert.errtype(function() d.co = coroutine.create(print) end, "SerializationError")
  assert.truthy(err.message:find("coroutine"), err.message)
  local r, w = mp.Pipe()
  err = assert.errtype(function() d.conn = {r} end, "SerializationError")
  assert.truthy(err.message:find("Connection"), err.message)
  assert.errtype(function() d:update(5) end, "TypeError")
  assert.errtype(function() d:update(m:list()) end, "TypeError")
  assert.eq(#d, 0)
  -- A closed handle refuses; another handle to the same dict works.
  local q = mp.Queue()
  q:put(d)
  local d2 = q:get(5)
  assert.truthy(d2 == d)
  d:close()
  assert.errtype(function() return d.x end, "ValueError")
  assert.errtype(function() d:len() end, "ValueError")
  d2.x = 1
  assert.eq(d2.x, 1)
  m:shutdown()
end

-- Functions and procsh objects as values: a child gets them whole.
function test_objects_as_values()
  local m = mp.Manager()
  local d = m:dict()
  local lock = mp.Lock()
  local q = mp.Queue()
  local base = 10
  d.lock = lock
  d.queue = q
  d.add = function(x) return x + base end
  assert.truthy(d.lock == lock)
  local p = procs.start(function(d)
    if not d.lock:acquire(5) then error("the lock was not taken") end
    d.queue:put(d.add(5))
  end, d)
  assert.eq(q:get(10), 15)
  procs.finish(p)
  assert.eq(lock:locked(), true) -- the child took it and left it held
  lock:release()
  -- Overwritten or dropped, the dict lets the objects go.
  d.lock = nil
  d.queue = "plain"
  m:shutdown()
end

-- Children update one dict: under a Lock, read-modify-write is exact;
-- distinct keys need no Lock at all.
function test_children()
  local m = mp.Manager()
  local d = m:dict{count = 0}
  local lock = mp.Lock()
  local ps = {}
  for i = 1, 3 do
    ps[i] = procs.start(function(lock, d, i)
      for j = 1, 200 do
        mp.with(lock, function() d.count = d.count + 1 end)
        d["k" .. i .. ":" .. j] = j
      end
    end, lock, d, i)
  end
  for _, p in ipairs(ps) do procs.finish(p) end
  assert.eq(d.count, 600)
  assert.eq(#d, 601)
  assert.eq(d["k2:200"], 200)
  -- A dict travels in a Queue too.
  local q = mp.Queue()
  local p = procs.start(function(q) q:get(10).from_queue = true end, q)
  q:put(d)
  procs.finish(p)
  assert.eq(d.from_queue, true)
  m:shutdown()
end

-- Run whole (procsh testdata/manager_dict.lua), the script runs every test;
-- the test runner (testdata/lib/runtest.lua) names one and runs that.
if select("#", ...) == 0 then
  for _, test in ipairs{
    test_index_and_set,
    test_methods,
    test_method_names_as_keys,
    test_table_keys,
    test_errors,
    test_objects_as_values,
    test_children,
  } do test() end
end

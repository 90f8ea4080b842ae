-- mp.Manager(): its Namespace, the usual objects it makes, shutdown,
-- mp.with, and the end of the program that made it.
local mp = require("multiprocessing")
local assert = require("assert")
local procs = require("procs")

function test_namespace()
  local m = mp.Manager()
  local ns = m:Namespace{x = 1}
  ns.y = "two"
  assert.eq(ns.x, 1)
  assert.eq(ns.y, "two")
  assert.eq(ns.z, nil)
  assert.eq(ns[1], nil)
  ns.x = nil
  assert.eq(ns.x, nil)
  assert.errtype(function() ns[1] = 2 end, "TypeError")
  assert.errtype(function() m:Namespace{[1] = 2} end, "TypeError")
  local p = procs.start(function(ns) ns.from_child = ns.y .. "!" end, ns)
  procs.finish(p)
  assert.eq(ns.from_child, "two!")
  assert.truthy(tostring(ns):find("^<NamespaceProxy object, typeid 'Namespace' at 0x"), tostring(ns))
  m:shutdown()
end

-- m:Lock() and the others are the usual objects: they work in children
-- and outlive the manager.
function test_usual_objects()
  local m = mp.Manager()
  local lock, q, v = m:Lock(), m:Queue(), m:Value("i", 3)
  assert.truthy(tostring(lock):find("^<Lock"), tostring(lock))
  assert.truthy(tostring(m:RLock()):find("^<RLock"))
  assert.truthy(tostring(m:Semaphore(2)):find("Semaphore"))
  assert.truthy(tostring(m:BoundedSemaphore(2)):find("Semaphore"))
  assert.truthy(tostring(m:Event()):find("Event"))
  assert.truthy(tostring(m:Condition()):find("Condition"))
  assert.truthy(tostring(m:Barrier(1)):find("Barrier"))
  assert.truthy(tostring(m:JoinableQueue()):find("JoinableQueue"))
  assert.eq(m:Array("i", {1, 2}):totable(), {1, 2})
  local p = procs.start(function(lock, q, v)
    mp.with(lock, function() v.value = v.value + 1 end)
    q:put("hello")
  end, lock, q, v)
  assert.eq(q:get(10), "hello")
  procs.finish(p)
  m:shutdown()
  assert.eq(v.value, 4)
  assert.truthy(lock:acquire(false))
  lock:release()
  local pool = mp.Manager():Pool(1)
  assert.eq(pool:apply(function(x) return x * 2 end, {21}), 42)
  pool:terminate()
end

function test_shutdown()
  local m = mp.Manager()
  local d, l, ns = m:dict{a = 1}, m:list{1}, m:Namespace{x = 1}
  assert.eq(tostring(m), "<SyncManager started>")
  assert.errtype(function() m:start() end, "ProcessError")
  m:shutdown()
  assert.eq(tostring(m), "<SyncManager shut down>")
  local err = assert.errtype(function() return d.a end, "OSError")
  assert.truthy(err.message:find("shut down"), err.message)
  assert.errtype(function() d.a = 2 end, "OSError")
  assert.errtype(function() return #l end, "OSError")
  assert.errtype(function() l:append(2) end, "OSError")
  assert.errtype(function() return ns.x end, "OSError")
  assert.errtype(function() m:dict() end, "ProcessError")
  assert.errtype(function() m:Lock() end, "ProcessError")
  assert.errtype(function() m:start() end, "ProcessError")
  m:shutdown() -- again: nothing
  assert.truthy(tostring(d):find("^<DictProxy object, typeid 'dict' at 0x"), tostring(d))
end

-- mp.with shuts the manager down on the way out, error or not.
function test_with()
  local d
  local got = mp.with(mp.Manager(), function(m)
    d = m:dict{a = 1}
    return d.a
  end)
  assert.eq(got, 1)
  assert.errtype(function() return d.a end, "OSError")
  local ok, err = pcall(mp.with, mp.Manager(), function(m)
    d = m:dict()
    error("inside")
  end)
  assert.falsy(ok)
  assert.truthy(tostring(err):find("inside"), tostring(err))
  assert.errtype(function() return d.a end, "OSError")
  local m = mp.Manager()
  m:shutdown()
  assert.errtype(function() mp.with(m, function() end) end, "ProcessError")
end

-- A manager sent to a child makes containers there; the end of the
-- program that made a manager shuts it down, as in Python.
function test_lifetime()
  local m = mp.Manager()
  local q = mp.Queue()
  local p = procs.start(function(m, q) local l = m:list{"made in the child"}; q:put(l) end, m, q)
  local l = q:get(10)
  procs.finish(p)
  assert.eq(l[1], "made in the child") -- the child's end does not end a manager it did not make
  m:shutdown()
  p = procs.start(function(q)
    local own = mp.Manager()
    q:put(own:dict{x = 1})
  end, q)
  local d = q:get(10)
  procs.finish(p)
  assert.errtype(function() return d.x end, "OSError")
end

-- Run whole (procsh testdata/manager.lua), the script runs every test;
-- the test runner (testdata/lib/runtest.lua) names one and runs that.
if select("#", ...) == 0 then
  for _, test in ipairs{
    test_namespace,
    test_usual_objects,
    test_shutdown,
    test_with,
    test_lifetime,
  } do test() end
end

-- Every shared object reaches a child through args, globals and upvalues,
-- and a grandchild too, as the same object (==), whichever way it came.
local mp = require("multiprocessing")
local assert = require("assert")

-- makeObjects gives one of each shared object, by name, and the sorted
-- names.
local function makeObjects()
  local objects = {
    Lock = mp.Lock(), RLock = mp.RLock(),
    Semaphore = mp.Semaphore(2), BoundedSemaphore = mp.BoundedSemaphore(2),
    Event = mp.Event(), Condition = mp.Condition(), Barrier = mp.Barrier(2),
    Value = mp.Value("i", 5), Array = mp.Array("d", {1, 2}),
  }
  local names = {}
  for name in pairs(objects) do names[#names + 1] = name end
  table.sort(names)
  return objects, names
end

-- Distinct objects differ; an object equals itself.
function test_equality()
  local objects = makeObjects()
  assert.truthy(mp.Lock() ~= mp.Lock(), "two Locks differ")
  assert.truthy(objects.Lock == objects.Lock)
  assert.truthy(objects.Lock ~= objects.RLock)
  assert.truthy(objects.Value ~= objects.Array)
end

function test_args_globals_upvalues_grandchild()
  local objects, names = makeObjects()
  shared_objects = objects -- a global, captured at start()
  local up = objects -- an upvalue
  local p = mp.Process{target = function(args)
    for _, name in ipairs(names) do
      local a, g, u = args[name], shared_objects[name], up[name]
      assert.eq(type(a), "userdata", name)
      assert.truthy(a == g, name .. ": args == global")
      assert.truthy(a == u, name .. ": args == upvalue")
      assert.truthy(rawequal(g, u), name .. ": one message, one userdata")
    end
    -- The child's changes are seen by the parent.
    args.Value.value = 6
    args.Array[2] = 3
    args.Event:set()
    args.Semaphore:acquire()
    -- A grandchild gets them from the child, still the same objects.
    local g = mp.Process{target = function(o)
      for _, name in ipairs(names) do
        assert.truthy(o[name] == up[name], name .. ": in the grandchild")
      end
      o.Value.value = 7
    end, args = {args}}
    g:start()
    g:join(20)
    os.exit(g.exitcode)
  end, args = {objects}}
  p:start()
  p:join(30)
  assert.eq(p.exitcode, 0)
  assert.eq(objects.Value.value, 7, "written by the grandchild")
  assert.eq(objects.Array[2], 3)
  assert.truthy(objects.Event:is_set())
  assert.eq(objects.Semaphore:get_value(), 1)
end

-- A Barrier's action and default timeout travel with it.
function test_barrier_action_and_timeout_travel()
  local hits = mp.Value("i", 0)
  local b = mp.Barrier{parties = 2, action = function() hits.value = hits.value + 1 end, timeout = 20}
  local p = mp.Process{target = function(x) x:wait() end, args = {b}}
  p:start()
  b:wait()
  p:join(30)
  assert.eq(p.exitcode, 0)
  assert.eq(hits.value, 1, "the action ran once")
  p = mp.Process{target = function(x)
    local t = require("time")
    local t0 = t.monotonic()
    local ok = pcall(x.wait, x)
    assert.falsy(ok, "the default timeout broke the wait")
  end, args = {mp.Barrier{parties = 2, timeout = 0.2}}}
  p:start()
  p:join(30)
  assert.eq(p.exitcode, 0, "default timeout in the child")
end

-- An action whose upvalue cannot be sent fails when it uses it, not
-- silently.
function test_unsendable_action_upvalue()
  local co = coroutine.create(function() end)
  local bad = mp.Barrier(1, function() return coroutine.status(co) end)
  assert.eq(bad:wait(), 0)
  local p = mp.Process{target = function(x)
    local ok, err = pcall(x.wait, x)
    assert.falsy(ok, "the action used what could not be sent")
  end, args = {bad}}
  p:start()
  p:join(30)
  assert.eq(p.exitcode, 0, "unsendable action")
end

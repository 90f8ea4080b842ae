-- Start methods and contexts: the three names Python knows, chosen once,
-- and context objects that are the module under another name.
local mp = require("multiprocessing")
local assert = require("assert")

function test_all_start_methods()
  assert.eq(mp.get_all_start_methods(), {"fork", "spawn", "forkserver"})
  assert.errtype(function() mp.get_all_start_methods(1) end, "TypeError")
end

-- Asking for the method chooses the default, as Python's does.
function test_default_is_fork()
  assert.eq(mp.get_start_method(true), nil, "none chosen yet")
  assert.eq(mp.get_start_method{allow_none = true}, nil)
  assert.eq(mp.get_start_method(), "fork")
  assert.eq(mp.get_start_method(true), "fork", "chosen by asking")
  local e = assert.errtype(function() mp.set_start_method("spawn") end, "RuntimeError")
  assert.truthy(e.message:match("context has already been set"), e.message)
end

function test_set_once()
  mp.set_start_method("spawn")
  assert.eq(mp.get_start_method(), "spawn")
  local e = assert.errtype(function() mp.set_start_method("forkserver") end, "RuntimeError")
  assert.truthy(e.message:match("context has already been set %(to 'spawn'%)"), e.message)
  assert.errtype(function() mp.set_start_method("spawn") end, "RuntimeError")
  mp.set_start_method("forkserver", true)
  assert.eq(mp.get_start_method(), "forkserver")
  mp.set_start_method("fork", {force = true})
  assert.eq(mp.get_start_method(), "fork")
  mp.set_start_method(nil, true) -- unchosen again
  assert.eq(mp.get_start_method(true), nil)
  mp.set_start_method(nil) -- the default
  assert.eq(mp.get_start_method(true), "fork")
end

function test_bad_methods()
  local e = assert.errtype(function() mp.get_context("bogus") end, "ValueError")
  assert.eq(e.message, "get_context: cannot find context for 'bogus', want \"fork\", \"spawn\" or \"forkserver\"")
  e = assert.errtype(function() mp.set_start_method("threads") end, "ValueError")
  assert.truthy(e.message:match("^set_start_method: cannot find context for 'threads'"), e.message)
  assert.eq(mp.get_start_method(true), nil, "a refused method chooses nothing")
  assert.errtype(function() mp.get_context(5) end, "TypeError")
  assert.errtype(function() mp.set_start_method("fork", "yes") end, "TypeError")
  assert.errtype(function() mp.set_start_method{method = "fork", froce = true} end, "TypeError")
  assert.errtype(function() mp.get_start_method(1) end, "TypeError")
end

function test_context_objects()
  local spawn = mp.get_context("spawn")
  assert.truthy(spawn == mp.get_context("spawn"), "one context per method")
  assert.eq(tostring(spawn), "<SpawnContext>")
  assert.eq(tostring(mp.get_context("forkserver")), "<ForkServerContext>")
  assert.eq(spawn.get_start_method(), "spawn")
  assert.eq(mp.get_start_method(true), nil, "getting a context by name chooses nothing")
  assert.truthy(spawn.Process == mp.Process and spawn.Queue == mp.Queue and spawn.Pool == mp.Pool)
  assert.truthy(spawn.Empty == mp.Empty and spawn.connection == mp.connection)
  assert.truthy(spawn.get_context() == spawn)
  assert.truthy(spawn.get_context("fork") == mp.get_context("fork"))
  assert.truthy(spawn.get_all_start_methods == mp.get_all_start_methods)
  local e = assert.errtype(function() spawn.set_start_method("fork") end, "ValueError")
  assert.truthy(e.message:match("concrete context"), e.message)
  -- get_context() is the chosen method's, and chooses the default.
  local default = mp.get_context()
  assert.truthy(default == mp.get_context("fork"))
  assert.eq(mp.get_start_method(true), "fork")
  mp.set_start_method("spawn", true)
  assert.truthy(mp.get_context() == spawn)
end

-- A context makes what the module makes, and crosses to a child.
function test_context_runs_children()
  local ctx = mp.get_context("spawn")
  local q = ctx.Queue()
  local v = ctx.Value("i", 0)
  local p = ctx.Process{target = function(c)
    v.value = 7
    q:put({c.get_start_method(), tostring(c), c.Queue == mp.Queue, ctx.get_start_method()})
  end, args = {ctx}}
  p:start()
  assert.eq(q:get(10), {"spawn", "<SpawnContext>", true, "spawn"})
  p:join(10)
  assert.eq(p.exitcode, 0)
  assert.eq(v.value, 7)
  local pool = ctx.Pool(2)
  assert.eq(pool:map(function(x) return x * x end, {1, 2, 3}), {1, 4, 9})
  pool:close()
  pool:join(10)
end

-- The choice is the process's own: a child starts with none chosen.
function test_child_chooses_its_own()
  mp.set_start_method("forkserver")
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local before = mp.get_start_method(true)
    mp.set_start_method("spawn")
    q:put({before == nil, mp.get_start_method()})
  end}
  p:start()
  assert.eq(q:get(10), {true, "spawn"})
  p:join(10)
  assert.eq(mp.get_start_method(), "forkserver")
end

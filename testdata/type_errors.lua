-- procsh's own functions raise TypeError tables for a wrong argument, in
-- gopher-lua's CheckX wording, like every other procsh error: a method
-- called with a dot (lock.acquire()), mp.Process(5), mp.with(5, f).
-- Lua's own library keeps its string errors.
local assert = require("assert")
local mp = require("multiprocessing")
local time = require("time")

-- typeerr checks that fn raises a TypeError whose message is want.
local function typeerr(fn, want)
  local e = assert.errtype(fn, "TypeError")
  if want then assert.eq(e.message, want) end
  return e
end

-- The examples of the trap.
function test_trap_examples()
  local lock = mp.Lock()
  typeerr(function() lock.acquire() end, "bad argument #1 to 'acquire' (multiprocessing.Lock or RLock expected, got no value)")
  typeerr(function() mp.Process(5) end, "bad argument #1 to 'Process' (table expected, got number)")
  typeerr(function() mp.with(5, print) end,
    "bad argument #1 to 'with' (Lock, Pool or other object with acquire and release expected, got number)")
  typeerr(function() mp.with(lock, 5) end, "bad argument #2 to 'with' (function expected, got number)")
  typeerr(function() mp.with({}, print) end)
  typeerr(function() time.sleep("x") end, "bad argument #1 to 'sleep' (number expected, got string)")
  typeerr(function() time.strftime({}) end, "bad argument #1 to 'strftime' (string expected, got table)")
  typeerr(function() time.strftime("%Y", "now") end, "bad argument #2 to 'strftime' (number expected, got string)")
  assert.errtype(function() time.sleep(-1) end, "ValueError")
end

-- Another object where one is expected names its type.
function test_other_object_named()
  local lock = mp.Lock()
  local q = mp.Queue()
  typeerr(function() q.get(lock) end, "bad argument #1 to 'get' (multiprocessing.Queue expected, got multiprocessing.Lock)")
  typeerr(function() q.put() end, "bad argument #1 to 'put' (multiprocessing.Queue expected, got no value)")
  typeerr(function() q:put() end, "bad argument #2 to 'put' (value expected)")
end

-- A module function called without a name at its call site is named by
-- what procsh calls it.
function test_function_names()
  local lock = mp.Lock()
  local ok, e = pcall(mp.Process, 5)
  assert.eq(tostring(e), "TypeError: bad argument #1 to 'Process' (table expected, got number)")
  ok, e = pcall(require("time").sleep, "x")
  assert.eq(tostring(e), "TypeError: bad argument #1 to 'sleep' (number expected, got string)")
  -- A method called through pcall has no name: '?', as in Lua 5.1.
  ok, e = pcall(lock.acquire)
  assert.eq(ok, false)
  assert.eq(tostring(e), "TypeError: bad argument #1 to '?' (multiprocessing.Lock or RLock expected, got no value)")
end

-- Every method of every procsh type, called without its object.
function test_every_method_without_its_object()
  local pool = mp.Pool(1)
  local r, w = mp.Pipe()
  local proc = mp.Process{target = function() end}
  local objects = {
    Process = proc, Lock = mp.Lock(), RLock = mp.RLock(), Semaphore = mp.Semaphore(), BoundedSemaphore = mp.BoundedSemaphore(),
    Event = mp.Event(), Condition = mp.Condition(), Barrier = mp.Barrier(2), Queue = mp.Queue(), JoinableQueue = mp.JoinableQueue(),
    SimpleQueue = mp.SimpleQueue(), Connection = r, Value = mp.Value("i", 0), Array = mp.Array("i", 2), Pool = pool,
    AsyncResult = pool:apply_async(function() end), IMapIterator = pool:imap(function(x) return x end, {1}),
  }
  local names = {}
  for name in pairs(objects) do names[#names + 1] = name end
  table.sort(names)
  local checked = 0
  for _, name in ipairs(names) do
    local mt = getmetatable(objects[name])
    local methods = mt.methods or mt.__index
    assert.eq(type(methods), "table", name .. " methods")
    for m, fn in pairs(methods) do
      for _, bad in ipairs{{}, {5}, {"x"}} do
        local ok, err = pcall(fn, unpack(bad))
        if ok or type(err) ~= "table" or err.type ~= "TypeError"
            or not tostring(err.message):find("^bad argument #1 to '%?' %(multiprocessing%.") then
          error(name .. "." .. m .. "(" .. tostring(bad[1]) .. "): got " .. tostring(ok) .. ", " .. tostring(err), 0)
        end
        checked = checked + 1
      end
    end
  end
  assert.truthy(checked > 150, "methods checked: " .. checked)
  pool:terminate()
end

-- Every function of the module with a wrong first argument.
function test_every_module_function()
  for _, call in ipairs{
    {"Process", 5}, {"Pool", "x"}, {"Queue", "x"}, {"JoinableQueue", "x"}, {"SimpleQueue", 5}, {"Pipe", 5},
    {"Lock", 5}, {"RLock", 5}, {"Semaphore", "x"}, {"BoundedSemaphore", "x"}, {"Event", 5}, {"Condition", 5},
    {"Barrier", "x"}, {"Value", 5}, {"Array", 5}, {"with", 5},
  } do
    local ok, err = pcall(mp[call[1]], call[2])
    if ok or type(err) ~= "table" or err.type ~= "TypeError" then
      error("mp." .. call[1] .. "(" .. tostring(call[2]) .. "): got " .. tostring(ok) .. ", " .. tostring(err), 0)
    end
  end
end

-- Lua's own library is Lua's: string errors.
function test_lua_library_errors_are_strings()
  local ok, e = pcall(string.rep)
  assert.eq(type(e), "string")
end

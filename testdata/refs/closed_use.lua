-- Every method and field of a closed object raises ValueError; nothing
-- reads freed memory.
local mp = require("multiprocessing")
local assert = require("assert")

local function closed(name, obj, uses)
  obj:close()
  obj:close() -- a second close does nothing
  for use, f in pairs(uses) do
    local err = assert.errtype(function() f(obj) end, "ValueError")
    assert.truthy(string.find(err.message or tostring(err), "closed"), name .. "." .. use .. ": " .. tostring(err))
  end
  assert.truthy(string.find(tostring(obj), "closed"), name .. " repr")
end

local lock_uses = {
  acquire = function(o) o:acquire() end,
  release = function(o) o:release() end,
  locked = function(o) return o:locked() end,
  with = function(o) mp.with(o, function() end) end,
}
closed("Lock", mp.Lock(), lock_uses)
closed("RLock", mp.RLock(), lock_uses)
closed("Event", mp.Event(), {
  set = function(o) o:set() end,
  clear = function(o) o:clear() end,
  is_set = function(o) return o:is_set() end,
  wait = function(o) o:wait(0) end,
})
local sem_uses = {
  acquire = function(o) o:acquire() end,
  release = function(o) o:release() end,
  get_value = function(o) return o:get_value() end,
}
closed("Semaphore", mp.Semaphore(2), sem_uses)
closed("BoundedSemaphore", mp.BoundedSemaphore(2), sem_uses)
closed("Condition", mp.Condition(), {
  acquire = function(o) o:acquire() end,
  release = function(o) o:release() end,
  wait = function(o) o:wait(0) end,
  wait_for = function(o) o:wait_for(function() return true end, 0) end,
  notify = function(o) o:notify() end,
  notify_all = function(o) o:notify_all() end,
})
closed("Barrier", mp.Barrier(2), {
  wait = function(o) o:wait(0) end,
  reset = function(o) o:reset() end,
  abort = function(o) o:abort() end,
  parties = function(o) return o.parties end,
  n_waiting = function(o) return o.n_waiting end,
  broken = function(o) return o.broken end,
})
local queue_uses = {
  put = function(o) o:put(1) end,
  get = function(o) o:get() end,
  empty = function(o) return o:empty() end,
}
closed("Queue", mp.Queue(), queue_uses)
closed("JoinableQueue", mp.JoinableQueue(), queue_uses)
closed("SimpleQueue", mp.SimpleQueue(), queue_uses)
closed("Value", mp.Value("i", 3), {
  value = function(o) return o.value end,
  set = function(o) o.value = 4 end,
  get_lock = function(o) return o:get_lock() end,
  acquire = function(o) o:acquire() end,
  release = function(o) o:release() end,
})
closed("Array", mp.Array("i", 3), {
  index = function(o) return o[1] end,
  set = function(o) o[1] = 4 end,
  len = function(o) return #o end,
  totable = function(o) return o:totable() end,
  get_lock = function(o) return o:get_lock() end,
})

-- A closed object cannot be sent; another handle to it still works.
local l = mp.Lock()
local q = mp.Queue()
q:put(l)
l:close()
assert.errtype(function() q:put(l) end, "SerializationError")
local l2 = q:get(5)
assert.truthy(l2:acquire(false))
l2:release()

-- A connection, as Python's: OSError once closed.
local a, b = mp.Pipe()
a:close()
assert.errtype(function() a:send(1) end, "OSError")
assert.errtype(function() a:recv() end, "OSError")
b:close()
print("closed_use ok")

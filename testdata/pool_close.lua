-- Pool close, join, terminate, mp.with, and the end of the script: every
-- wait bounded, no worker left behind.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function sleepy(x, secs)
  time.sleep(secs)
  return x
end

-- join before close is a ValueError; close lets queued work finish.
function test_close_then_join()
  local pool = mp.Pool(2)
  assert.errtype(function() pool:join() end, "ValueError")
  local r = pool:starmap_async(sleepy, {{1, 0.02}, {2, 0.02}, {3, 0.02}, {4, 0.02}}, 1)
  pool:close()
  assert.eq(tostring(pool), "<Pool processes=2 state=CLOSE>")
  assert.errtype(function() pool:apply(print) end, "ValueError")
  assert.errtype(function() pool:map(print, {1}) end, "ValueError")
  assert.eq(pool:join(10), true)
  assert.eq(r:get(0), {1, 2, 3, 4})
  assert.eq(#mp.active_children(), 0, "workers exited after close and join")
  pool:close() -- twice is fine
end

-- join with a timeout while tasks still run returns false.
function test_join_timeout()
  local pool = mp.Pool(1)
  local slow = pool:apply_async(sleepy, {1, 0.5})
  pool:close()
  local t = time.monotonic()
  assert.eq(pool:join(0.05), false)
  assert.between(time.monotonic() - t, 0.04, 0.4)
  assert.eq(pool:join(10), true)
  assert.eq(slow:get(0), 1)
end

-- terminate while tasks run: quick, and the tasks fail rather than hang
-- (Python's never complete).
function test_terminate_while_running()
  local pool = mp.Pool(2)
  local long = pool:starmap_async(sleepy, (function()
    local t2 = {}
    for i = 1, 1000 do t2[i] = {i, 0.1} end
    return t2
  end)(), 1)
  time.sleep(0.05)
  local t = time.monotonic()
  pool:terminate()
  assert.eq(pool:join(5), true)
  assert.between(time.monotonic() - t, 0, 2, "terminate and join were quick")
  assert.eq(tostring(pool), "<Pool processes=2 state=TERMINATE>")
  assert.eq(#mp.active_children(), 0)
  assert.errtype(function() long:get(1) end, "ProcessError")
  assert.errtype(function() pool:apply(print) end, "ValueError")
  pool:terminate() -- twice is fine
  pool:close()     -- and close after terminate too
end

-- mp.with: the function's values; terminate on the way out.
function test_with()
  local p2
  local a, b = mp.with(mp.Pool(2), function(p)
    p2 = p
    return p:apply(function() return "in" end), "second"
  end)
  assert.eq({a, b}, {"in", "second"})
  assert.eq(tostring(p2), "<Pool processes=2 state=TERMINATE>")
  assert.eq(#mp.active_children(), 0)
end

-- Entering a pool that is not running is a ValueError (CPython test_enter).
function test_with_pool_not_running()
  local p2
  mp.with(mp.Pool(2), function(p) p2 = p end)
  assert.errtype(function() mp.with(p2, function() end) end, "ValueError")
  local closed = mp.Pool(1)
  closed:close()
  assert.errtype(function() mp.with(closed, function() end) end, "ValueError")
  closed:join(5)
end

-- An error inside propagates, and the pool is still terminated.
function test_with_error()
  local p3
  local err = assert.errtype(function()
    mp.with(mp.Pool(1), function(p) p3 = p; error({type = "ValueError", message = "inside"}) end)
  end, "ValueError")
  assert.eq(err.message, "inside")
  assert.eq(tostring(p3), "<Pool processes=1 state=TERMINATE>")
end

-- CPython's test_context: map_async inside, result after.
function test_with_map_async()
  local res
  mp.with(mp.Pool(2), function(p)
    res = p:map_async(function(x) return x * x end, {1, 2, 3})
    res:wait(10)
  end)
  assert.eq(res:get(0), {1, 4, 9})
end

-- A pool left open at the end of the script, with a task still running,
-- is cleaned up without hanging (the test runner checks no process is
-- left behind).
function test_left_open_at_exit()
  LEFT_OPEN = mp.Pool(2)
  LEFT_OPEN:apply_async(sleepy, {1, 30})
  LEFT_OPEN:starmap_async(sleepy, {{1, 30}, {2, 30}, {3, 30}}, 1)
  time.sleep(0.05)
end

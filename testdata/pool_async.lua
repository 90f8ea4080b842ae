-- Pool async results: get with a timeout, wait, ready, successful;
-- callbacks run in the parent, in order, before get/wait return, never
-- while the script's own code runs.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function sleepy(x, secs)
  time.sleep(secs)
  return x * x
end

-- withPool calls f with a pool of two workers, then closes and joins it.
local function withPool(f)
  local pool = mp.Pool(2)
  f(pool)
  pool:close()
  assert.eq(pool:join(10), true)
end

-- get(timeout) raises TimeoutError while the task runs; later succeeds.
function test_get_timeout()
  withPool(function(pool)
    local r = pool:apply_async(sleepy, {7, 0.3})
    local t = time.monotonic()
    local e = assert.errtype(function() r:get(0.05) end, "TimeoutError")
    assert.between(time.monotonic() - t, 0.04, 0.25, "get(0.05) waited about its timeout")
    assert.falsy(r:ready())
    assert.errtype(function() r:successful() end, "ValueError")
    assert.eq(r:get(10), 49)
    assert.truthy(r:ready()); assert.truthy(r:successful())
  end)
end

-- A negative or zero timeout does not wait; wait(timeout) returns
-- nothing, even when the result is not there.
function test_zero_timeout_and_wait()
  withPool(function(pool)
    local r0 = pool:apply_async(sleepy, {1, 0.2})
    assert.errtype(function() r0:get(0) end, "TimeoutError")
    assert.errtype(function() r0:get(-1) end, "TimeoutError")
    assert.eq(select("#", r0:wait(0.01)), 0)
    assert.falsy(r0:ready())
    r0:wait()
    assert.truthy(r0:ready())
    assert.eq(r0:get(), 1)
    assert.errtype(function() r0:get("soon") end, "TypeError")
  end)
end

-- Callbacks: run once, with the value (apply) or the list (map), before
-- get/wait return.
function test_callbacks()
  withPool(function(pool)
    local calls = {}
    local ra = pool:apply_async(sleepy, {3, 0.05}, function(v) calls[#calls + 1] = {"cb", v} end)
    ra:wait(10)
    assert.eq(calls, {{"cb", 9}}, "callback ran before wait returned")
    assert.eq(ra:get(), 9)
    assert.eq(calls, {{"cb", 9}}, "callback ran once")
    calls = {}
    local rm = pool:map_async(function(x) return x + 1 end, {1, 2, 3}, nil, function(v) calls[#calls + 1] = v end)
    assert.eq(rm:get(10), {2, 3, 4})
    assert.eq(calls, {{2, 3, 4}})
    local rs = pool:starmap_async(function(a, b) return a * b end, {{2, 3}}, nil, function(v) calls[#calls + 1] = v end)
    rs:wait(10)
    assert.eq(calls[2], {6})
  end)
end

-- error_callback gets the RemoteError; callback is not called.
function test_error_callback()
  withPool(function(pool)
    local calls = {}
    local re = pool:apply_async(function() error("bad") end, {}, function() calls[#calls + 1] = "cb" end,
      function(err) calls[#calls + 1] = err end)
    re:wait(10)
    assert.eq(#calls, 1)
    assert.eq(calls[1].type, "RemoteError")
    assert.truthy(tostring(calls[1].value):find("bad"))
    assert.falsy(re:successful())
    -- CPython's map_async callbacks: int('1') fails in neither; here a map
    -- with one failing item calls error_callback once.
    calls = {}
    pool:map_async(function(x) if x == 2 then error("two") end return x end, {1, 2, 3}, 1,
      function() calls[#calls + 1] = "cb" end, function(err) calls[#calls + 1] = err.type end):wait(10)
    assert.eq(calls, {"RemoteError"})
  end)
end

-- Callbacks run in completion order, each once, and only when the script
-- calls into the pool: never in the middle of the script's own code.
function test_callbacks_only_at_pool_calls()
  withPool(function(pool)
    local calls = {}
    local inScript = false
    local function cb(v)
      assert.falsy(inScript, "a callback ran while the script's code was running")
      calls[#calls + 1] = v
    end
    local results = {}
    for i = 1, 6 do results[i] = pool:apply_async(sleepy, {i, 0.01 * i}, cb) end
    inScript = true
    local spin = time.monotonic()
    while time.monotonic() - spin < 0.2 do end -- busy: every task ends meanwhile
    assert.eq(#calls, 0, "no callback while the script runs")
    inScript = false
    results[6]:wait(10)
    table.sort(calls)
    assert.eq(calls, {1, 4, 9, 16, 25, 36}, "all finished callbacks ran at the next pool call")
  end)
end

-- A callback may use the pool.
function test_callback_uses_pool()
  withPool(function(pool)
    local nested
    local rn = pool:apply_async(sleepy, {2, 0}, function(v) nested = pool:apply(sleepy, {v, 0}) end)
    rn:wait(10)
    assert.eq(nested, 16)
  end)
end

-- An error in a callback reaches the code that let it run; the result
-- itself is intact.
function test_callback_error()
  withPool(function(pool)
    local rb = pool:apply_async(sleepy, {5, 0}, function() error("callback failed") end)
    assert.fails(function() rb:wait(10) end, "callback failed")
    assert.eq(rb:get(), 25)
  end)
end

-- Callbacks must be callable.
function test_callbacks_callable()
  withPool(function(pool)
    assert.errtype(function() pool:apply_async(print, {}, 5) end, "TypeError")
    assert.errtype(function() pool:map_async(print, {}, nil, nil, "x") end, "TypeError")
  end)
end

-- Many async results outstanding at once.
function test_many_outstanding()
  withPool(function(pool)
    local many = {}
    for i = 1, 200 do many[i] = pool:apply_async(function(x) return x * 2 end, {i}) end
    for i = 200, 1, -1 do assert.eq(many[i]:get(10), i * 2) end
  end)
end

-- concurrent.futures: as_completed and wait with real worker processes:
-- completion order, futures done already, timeouts, each return_when,
-- futures of several executors, tables keyed by futures.
local mp = require("multiprocessing")
local futures = require("concurrent.futures")
local time = require("time")
local assert = require("assert")

local function nap(s) time.sleep(s) return s end

-- blocked submits a task that waits for ev (10 s at most) and returns v.
local function blocked(ex, ev, v)
  return ex:submit(function(e, x) e:wait(10) return x end, ev, v)
end

-- as_completed gives the futures in the order they finish.
function test_as_completed_order()
  local ex = futures.ProcessPoolExecutor(3)
  local fs = {ex:submit(nap, 0.9), ex:submit(nap, 0.1), ex:submit(nap, 0.5)}
  local order = {}
  for f in futures.as_completed(fs, 20) do order[#order + 1] = f:result() end
  assert.eq(order, {0.1, 0.5, 0.9})
  ex:shutdown()
end

-- Futures done already come first, in the order given, then the others;
-- each future once, however often it is listed.
function test_as_completed_done_first()
  local ex = futures.ProcessPoolExecutor(2)
  local ev = mp.Event()
  local slow = blocked(ex, ev, "slow")
  local a = ex:submit(nap, 0)
  local b = ex:submit(nap, 0)
  futures.wait({a, b}, 10)
  local got = {}
  for f in futures.as_completed({slow, b, a, b}) do
    got[#got + 1] = f
    if #got == 2 then ev:set() end
  end
  assert.eq(got, {b, a, slow})
  ex:shutdown()
end

-- The timeout counts from the call; a step that would end after it
-- raises TimeoutError saying how many are unfinished. The futures done
-- before come first all the same.
function test_as_completed_timeout()
  local ex = futures.ProcessPoolExecutor(2)
  local ev = mp.Event()
  local quick = ex:submit(nap, 0)
  quick:result(10)
  local fs = {quick, blocked(ex, ev, 1)}
  local it = futures.as_completed(fs, 0.2)
  assert.eq(it(), quick)
  local t = time.monotonic()
  local e = assert.errtype(function() it() end, "TimeoutError")
  assert.eq(e.message, "1 (of 2) futures unfinished")
  assert.between(time.monotonic() - t, 0.1, 2)
  ev:set()
  ex:shutdown()
end

-- A table keyed by futures (Python's {ex.submit(f, x): x}) gives its keys.
function test_as_completed_keyed_table()
  local ex = futures.ProcessPoolExecutor(2)
  local which = {}
  for _, x in ipairs({3, 4, 5}) do which[ex:submit(function(y) return y * y end, x)] = x end
  local seen = {}
  for f in futures.as_completed(which, 10) do seen[which[f]] = f:result() end
  assert.eq(seen, {[3] = 9, [4] = 16, [5] = 25})
  assert.errtype(function() futures.as_completed({1}) end, "TypeError")
  assert.errtype(function() futures.as_completed({name = "x"}) end, "TypeError")
  assert.errtype(function() futures.as_completed(5) end, "TypeError")
  ex:shutdown()
end

-- Futures of two executors, waited on together.
function test_several_executors()
  local ex1, ex2 = futures.ProcessPoolExecutor(1), futures.ProcessPoolExecutor(1)
  local fs = {ex1:submit(nap, 0.6), ex2:submit(nap, 0.1)}
  local order = {}
  for f in futures.as_completed(fs, 20) do order[#order + 1] = f:result() end
  assert.eq(order, {0.1, 0.6})
  local g = {ex1:submit(nap, 0.5), ex2:submit(nap, 0)}
  local done, not_done = futures.wait(g, {timeout = 10, return_when = "FIRST_COMPLETED"})
  assert.eq(done, {g[2]}); assert.eq(not_done, {g[1]})
  ex1:shutdown(); ex2:shutdown()
end

-- ALL_COMPLETED (the default) waits for every future.
function test_wait_all_completed()
  local ex = futures.ProcessPoolExecutor(2)
  local fs = {ex:submit(nap, 0.2), ex:submit(nap, 0), ex:submit(nap, 0.1)}
  local done, not_done = futures.wait(fs)
  assert.eq(done, fs); assert.eq(not_done, {})
  done, not_done = futures.wait({})
  assert.eq(done, {}); assert.eq(not_done, {})
  ex:shutdown()
end

-- FIRST_COMPLETED returns once any is done (a cancelled one counts).
function test_wait_first_completed()
  local ex = futures.ProcessPoolExecutor(1)
  local ev = mp.Event()
  local a, b = blocked(ex, ev, "a"), blocked(ex, ev, "b")
  local t = time.monotonic()
  local done, not_done = futures.wait({a, b}, 0.1, futures.FIRST_COMPLETED)
  assert.between(time.monotonic() - t, 0.05, 2)
  assert.eq(done, {}); assert.eq(not_done, {a, b})
  assert.truthy(b:cancel())
  done, not_done = futures.wait({a, b}, 10, "FIRST_COMPLETED")
  assert.eq(done, {b}); assert.eq(not_done, {a})
  ev:set()
  done = futures.wait({a}, 10, futures.FIRST_COMPLETED)
  assert.eq(done, {a})
  ex:shutdown()
end

-- FIRST_EXCEPTION returns when one fails, else when all are done; a
-- cancelled future is no exception.
function test_wait_first_exception()
  local ex = futures.ProcessPoolExecutor(2)
  local ev = mp.Event()
  local slow = blocked(ex, ev, "slow")
  local bad = ex:submit(function() time.sleep(0.05) error("bad") end)
  local done, not_done = futures.wait({slow, bad}, 10, futures.FIRST_EXCEPTION)
  assert.eq(done, {bad}); assert.eq(not_done, {slow})
  ev:set()
  local fs = {ex:submit(nap, 0.1), ex:submit(nap, 0)}
  done, not_done = futures.wait(fs, {timeout = 10, return_when = futures.FIRST_EXCEPTION})
  assert.eq(done, fs, "with no exception, as ALL_COMPLETED"); assert.eq(not_done, {})
  ex:shutdown()
end

-- A timeout returns what is done so far; it raises nothing.
function test_wait_timeout()
  local ex = futures.ProcessPoolExecutor(1)
  local ev = mp.Event()
  local f = blocked(ex, ev, 1)
  local t = time.monotonic()
  local done, not_done = futures.wait({f}, 0.15)
  assert.between(time.monotonic() - t, 0.1, 2)
  assert.eq(done, {}); assert.eq(not_done, {f})
  done, not_done = futures.wait({f}, 0)
  assert.eq(not_done, {f})
  assert.errtype(function() futures.wait({f}, 1, "SOMETIMES") end, "ValueError")
  assert.errtype(function() futures.wait({f}, 1, 3) end, "TypeError")
  assert.errtype(function() futures.wait({f}, {timeuot = 1}) end, "TypeError")
  ev:set()
  ex:shutdown()
end

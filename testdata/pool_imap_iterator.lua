-- Pool.imap and imap_unordered give an iterator object: a for loop runs
-- it as before, its repr says what it is and how to use it, and
-- it:next(timeout) is Python's IMapIterator.next.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function sq(x) return x * x end

-- withPool calls f with a pool of two workers, then closes and joins it.
local function withPool(f)
  local pool = mp.Pool(2)
  f(pool)
  pool:close()
  assert.eq(pool:join(10), true)
end

function test_for_loop_and_repr()
  withPool(function(pool)
    local it = pool:imap(sq, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    assert.eq(type(it), "userdata")
    assert.eq(tostring(it), "<imap iterator over 10 items: use in a for loop: for i, v in it do ... end>")
    local got = {}
    for i, v in it do got[i] = v end
    assert.eq(got, {1, 4, 9, 16, 25, 36, 49, 64, 81, 100})
    assert.eq(tostring(it), "<imap iterator over 10 items, all taken: use in a for loop: for i, v in it do ... end>")
    assert.eq(select("#", it()), 0, "an iterator at its end gives nothing")

    local un = pool:imap_unordered(sq, {3})
    assert.eq(tostring(un), "<imap_unordered iterator over 1 item: use in a for loop: for i, v in it do ... end>")
    assert.eq({un()}, {1, 9})
  end)
end

-- Called directly, by pcall, or through next: one item per step.
function test_one_item_per_step()
  withPool(function(pool)
    local it2 = pool:imap(sq, {1, 2, 3})
    assert.eq({it2()}, {1, 1})
    assert.eq({pcall(it2)}, {true, 2, 4})
    assert.truthy(tostring(it2):find("over 3 items, 2 taken", 1, true), tostring(it2))
    assert.eq({it2:next(10)}, {3, 9})
    assert.eq({it2:next()}, {})
  end)
end

-- next(timeout) raises TimeoutError when no result comes in time; the
-- item is still there for the next step.
function test_next_timeout()
  withPool(function(pool)
    local slow = pool:imap(function(x) time.sleep(0.5) return x end, {7})
    local t0 = time.monotonic()
    assert.errtype(function() slow:next(0.05) end, "TimeoutError")
    assert.truthy(time.monotonic() - t0 < 0.4, "next(0.05) returned by its timeout")
    assert.eq({slow:next(10)}, {1, 7})
    assert.errtype(function() slow:next("soon") end, "TypeError")
  end)
end

-- Not a value that crosses to another process.
function test_not_sendable()
  withPool(function(pool)
    local it = pool:imap(sq, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    local q = mp.Queue()
    assert.errtype(function() pool:apply(print, {it}) end, "SerializationError")
    q:close()
  end)
end

-- Pool.imap and imap_unordered over a function: the items are pulled
-- from it as the workers need them, a bounded number of chunks ahead of
-- the results taken, and its errors come out of the iterator at their
-- place. (imap_test.go runs the same over ten million items.)
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function inc(x) return x + 1 end

-- counter gives a function yielding 1 … n, and a table whose pulled
-- field says how many it gave.
local function counter(n)
  local c = {pulled = 0}
  return function()
    if c.pulled < n then
      c.pulled = c.pulled + 1
      return c.pulled
    end
  end, c
end

-- withPool calls f with a pool of two workers, then closes and joins it.
local function withPool(f)
  local pool = mp.Pool(2)
  f(pool)
  pool:close()
  assert.eq(pool:join(10), true)
end

-- imap gives every result in order, and the function never runs more
-- than 4 chunks per worker ahead of the results taken.
function test_imap_bounded_in_order()
  withPool(function(pool)
    local n, chunk = 100000, 100
    local gen, c = counter(n)
    local it = pool:imap(inc, gen, chunk)
    local bound = 4 * 2 * chunk
    assert.truthy(c.pulled <= bound, "pulled at the start: " .. c.pulled)
    local taken, most = 0, 0
    for i, v in it do
      taken = taken + 1
      if i ~= taken or v ~= i + 1 then assert.eq({i, v}, {taken, taken + 1}) end
      if c.pulled - taken > most then most = c.pulled - taken end
    end
    assert.eq(taken, n)
    assert.truthy(most <= bound, "ran " .. most .. " items ahead, want at most " .. bound)
    assert.truthy(most >= bound - chunk, "ran " .. most .. " items ahead: is the window used?")
    assert.eq(tostring(it), "<imap iterator over a function, all taken: use in a for loop: for i, v in it do ... end>")
    assert.eq(select("#", it()), 0, "an iterator at its end gives nothing")
  end)
end

-- imap_unordered gives every item once, with its index.
function test_unordered_all_once()
  withPool(function(pool)
    local n, chunk = 20000, 7 -- the last chunk is short
    local gen, c = counter(n)
    local seen, taken, most = {}, 0, 0
    for i, v in pool:imap_unordered(function(x) return x * 2 end, gen, {chunksize = chunk}) do
      assert.eq(v, 2 * i)
      assert.falsy(seen[i], "item " .. i .. " given twice")
      seen[i] = true
      taken = taken + 1
      if c.pulled - taken > most then most = c.pulled - taken end
    end
    assert.eq(taken, n)
    assert.truthy(most <= 4 * 2 * chunk, "ran " .. most .. " items ahead")
  end)
end

-- The default chunksize is 1; items of any kind, nil results included.
function test_default_chunk_and_values()
  withPool(function(pool)
    local words = {"a", "b", "c", "d"}
    local k = 0
    local got = {}
    for i, v in pool:imap(function(s) if s ~= "c" then return s:upper() end end, function()
      k = k + 1
      return words[k]
    end) do
      got[i] = v or "nil"
    end
    assert.eq(got, {"A", "B", "nil", "D"})
    assert.truthy(k <= 4 * 2 + 1, "pulled " .. k)
    -- coroutine.wrap turns any loop into such a function.
    local gen = coroutine.wrap(function()
      for _, w in ipairs(words) do coroutine.yield(w) end
    end)
    local out = {}
    for i, v in pool:imap(string.upper, gen) do out[i] = v:lower() end
    assert.eq(out, words)
    -- A function that gives nothing at once.
    local it = pool:imap(inc, function() end)
    assert.eq(select("#", it()), 0)
    assert.eq(tostring(it), "<imap iterator over a function: use in a for loop: for i, v in it do ... end>")
  end)
end

-- An error the function raises comes out of the iterator at its place:
-- for imap after the items the function gave before, then the iterator
-- ends, as Python's does; for imap_unordered in the order it happened
-- among the results, and the items given before still come.
function test_function_error_at_its_place()
  withPool(function(pool)
    for _, what in ipairs({"imap", "imap_unordered"}) do
      local k = 0
      local it = pool[what](pool, inc, function()
        k = k + 1
        if k == 6 then error("ran dry", 0) end
        return k
      end, 2)
      local got, errs = {}, 0
      while true do
        local ok, i, v = pcall(it.next, it, 10)
        if not ok then
          assert.eq(i, "ran dry", what)
          errs = errs + 1
          if what == "imap" then assert.eq(#got, 5, "imap: the items before the error") end
        elseif i == nil then
          break
        else
          assert.eq(v, i + 1)
          got[#got + 1] = v
        end
      end
      assert.eq(errs, 1, what)
      assert.eq(#got, 5, what)
      assert.eq(k, 6, what .. ": not called again")
    end
  end)
end

-- An item that cannot be sent fails alone, at its place.
function test_unsendable_item()
  withPool(function(pool)
    local k = 0
    local it = pool:imap(function(x) return x end, function()
      k = k + 1
      if k == 3 then return coroutine.create(print) end
      if k <= 5 then return k end
    end, 4)
    assert.eq({it:next(10)}, {1, 1})
    assert.eq({it:next(10)}, {2, 2})
    local err = assert.errtype(function() it:next(10) end, "SerializationError")
    assert.truthy(tostring(err):find("items[3]", 1, true), tostring(err))
    assert.eq({it:next(10)}, {4, 4})
    assert.eq({it:next(10)}, {5, 5})
    assert.eq({it:next(10)}, {})
  end)
end

-- next(timeout) raises TimeoutError when no result comes in time; the
-- item is still there for the next step.
function test_next_timeout()
  withPool(function(pool)
    local k = 0
    local it = pool:imap(function(x) time.sleep(0.4) return x end, function()
      k = k + 1
      if k <= 2 then return k * 10 end
    end)
    local t0 = time.monotonic()
    assert.errtype(function() it:next(0.05) end, "TimeoutError")
    assert.truthy(time.monotonic() - t0 < 0.35, "next(0.05) returned by its timeout")
    assert.eq({it:next(10)}, {1, 10})
    assert.eq({it:next(10)}, {2, 20})
    assert.eq({it:next(0.05)}, {})
  end)
end

-- A worker killed while it runs an item: that item fails with
-- WorkerLostError, as with a list; the others come, from a new worker.
function test_worker_killed()
  withPool(function(pool)
    local holder = mp.Value("i", 0)
    local it = pool:imap(function(x)
      if x == 7 then
        holder.value = mp.current_process().pid
        time.sleep(30)
      end
      return x
    end, (counter(12)))
    for want = 1, 6 do
      assert.eq({it:next(10)}, {want, want})
    end
    local t0 = time.monotonic()
    while holder.value == 0 and time.monotonic() - t0 < 10 do time.sleep(0.01) end
    local killed = false
    for _, p in ipairs(mp.active_children()) do
      if p.pid == holder.value then p:kill(); killed = true end
    end
    assert.truthy(killed, "found the worker running item 7")
    local err = assert.errtype(function() it:next(10) end, "WorkerLostError")
    assert.eq(err.exitcode, -9)
    assert.truthy(err.message:find("item 7 of imap", 1, true), err.message)
    for want = 8, 12 do
      assert.eq({it:next(10)}, {want, want})
    end
    assert.eq({it:next(10)}, {})
  end)
end

-- close() then join() runs every item, although nobody takes them while
-- join waits (Python's imap does too); the results stay for the
-- iterator.
function test_close_join_runs_all()
  local pool = mp.Pool(2)
  local gen, c = counter(500)
  local it = pool:imap(inc, gen, 3)
  pool:close()
  assert.eq(pool:join(20), true)
  assert.eq(c.pulled, 500)
  local n = 0
  for i, v in it do
    n = n + 1
    assert.eq(v, i + 1)
  end
  assert.eq(n, 500)
end

-- terminate() fails what was pulled and not done with ProcessError, then
-- the iterator says the rest was never taken from the function, and ends.
function test_terminate_ends_pulling()
  local pool = mp.Pool(1)
  local gen, c = counter(1000)
  local it = pool:imap(function(x)
    if x > 1 then time.sleep(30) end
    return x
  end, gen)
  assert.eq({it:next(10)}, {1, 1})
  pool:terminate()
  local pulled = c.pulled
  local errs, last = 0, nil
  while true do
    local ok, i = pcall(it.next, it, 1)
    if ok and i == nil then break end
    if not ok then
      assert.eq(i.type, "ProcessError")
      errs, last = errs + 1, i
    end
  end
  assert.eq(errs, pulled, "the items not done, and the rest")
  assert.truthy(last.message:find("items after item " .. pulled .. " were taken", 1, true), last.message)
  assert.eq(c.pulled, pulled, "not called after terminate")
end

-- The function is not a list: a generic for's triple, or the iterator
-- called from inside its own function, is an error that says so.
function test_misuse()
  withPool(function(pool)
    local err = assert.errtype(function() pool:imap(inc, ipairs({1, 2})) end, "TypeError")
    assert.truthy(err.message:find("coroutine.wrap", 1, true), err.message)
    assert.errtype(function() pool:imap(inc, ("a b"):gmatch("%a")) end, "TypeError")
    assert.errtype(function() pool:imap(inc, 42) end, "TypeError")
    -- The function calling its own iterator: an error of the function,
    -- given at its place, after the 8 items pulled before (4 chunks of 1
    -- for each of the 2 workers).
    local it
    local k, reenter = 0, false
    it = pool:imap(inc, function()
      k = k + 1
      if reenter then it() end
      return k
    end)
    reenter = true
    for want = 1, 8 do
      assert.eq({it:next(10)}, {want, want + 1})
    end
    err = assert.errtype(function() it:next(10) end, "ValueError")
    assert.truthy(err.message:find("called by the function", 1, true), err.message)
    assert.eq({it:next(10)}, {})
  end)
end

-- map and starmap take a function too: they pull every item first.
function test_map_takes_a_function()
  withPool(function(pool)
    assert.eq(pool:map(inc, (counter(5))), {2, 3, 4, 5, 6})
    local k = 0
    assert.eq(pool:starmap(math.max, function()
      k = k + 1
      if k <= 2 then return {k, 10 - k} end
    end), {9, 8})
    assert.eq(pool:map_async(inc, (counter(3)), {chunksize = 1}):get(10), {2, 3, 4})
    assert.fails(function() pool:map(inc, function() error("no items", 0) end) end, "no items")
  end)
end

-- Workers killed at random moments while an imap over a function runs:
-- every item comes once, as its result or as the WorkerLostError of the
-- chunk it was running (a chunk handed to a worker that died before
-- taking it goes to another), in order for imap; nothing is stuck. Only workers
-- that have given results are killed: three killed before they are
-- ready would make the pool give up, as for a failing initializer.
function test_random_kills()
  local pool = mp.Pool(3)
  math.randomseed(os.time())
  for _, what in ipairs({"imap", "imap_unordered"}) do
    local n = 3000
    local it = pool[what](pool, function(x)
      return {3 * x, mp.current_process().pid}
    end, (counter(n)), 5)
    local steps, results, lost, killed, seen, served = 0, 0, 0, 0, {}, {}
    while true do
      local ok, i, v = pcall(it.next, it, 20)
      if ok and i == nil then break end
      steps = steps + 1
      if ok then
        assert.eq(v[1], 3 * i)
        assert.falsy(seen[i], what .. ": item " .. i .. " given twice")
        seen[i] = true
        served[v[2]] = true
        if what == "imap" then assert.eq(i, steps, "imap: in order") end
        results = results + 1
      else
        assert.eq(i.type, "WorkerLostError", what .. ": " .. tostring(i))
        lost = lost + 1
      end
      if math.random(60) == 1 then
        for _, p in ipairs(mp.active_children()) do
          if served[p.pid] then
            p:kill()
            killed = killed + 1
            served[p.pid] = nil
            break
          end
        end
      end
    end
    assert.eq(steps, n, what .. ": every item once")
    assert.eq(results + lost, n)
    assert.truthy(killed > 0, what .. ": some worker was killed")
  end
  pool:close()
  assert.eq(pool:join(20), true)
end

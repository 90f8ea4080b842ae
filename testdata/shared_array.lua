-- Array: from a list or a size, 1-based indexing with IndexError, #a,
-- totable, locks, sharing with children.
local mp = require("multiprocessing")
local assert = require("assert")

function test_from_a_list()
  local a = mp.Array("i", {1, 2, 3})
  assert.eq(#a, 3)
  assert.eq(a[1], 1)
  assert.eq(a[3], 3)
  assert.eq(a:totable(), {1, 2, 3})
  assert.eq(tostring(a), "<Array('i', {1, 2, 3})>")
  a[2] = -7
  assert.eq(a[2], -7)
  for _, i in ipairs{0, 4, -1, 1.5, 2 ^ 40} do
    assert.errtype(function() return a[i] end, "IndexError")
    assert.errtype(function() a[i] = 1 end, "IndexError")
  end
  assert.errtype(function() a.x = 1 end, "TypeError")
  assert.errtype(function() a[1] = 2 ^ 31 end, "ValueError")
  assert.errtype(function() a[1] = "1" end, "TypeError")
  assert.eq(a[1], 1, "unchanged by refused writes")
  assert.eq(a.missing, nil)
end

function test_from_a_size()
  local z = mp.Array("d", 5)
  assert.eq(#z, 5)
  assert.eq(z:totable(), {0, 0, 0, 0, 0})
  local empty = mp.Array("b", 0)
  assert.eq(#empty, 0)
  assert.eq(empty:totable(), {})
  assert.errtype(function() return empty[1] end, "IndexError")
  local long = mp.Array("B", 40)
  assert.eq(tostring(long), "<Array('B', {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...} size=40)>")
end

function test_bad_arguments()
  assert.errtype(function() mp.Array("x", 3) end, "TypeError")
  assert.errtype(function() mp.Array("i") end, "TypeError")
  assert.errtype(function() mp.Array("i", "3") end, "TypeError")
  assert.errtype(function() mp.Array("i", -1) end, "ValueError")
  assert.errtype(function() mp.Array("i", 2.5) end, "ValueError")
  assert.errtype(function() mp.Array("b", {1, 200}) end, "ValueError")
  assert.errtype(function() mp.Array("i", {1, "2"}) end, "TypeError")
  assert.errtype(function() mp.Array("Q", {-1}) end, "ValueError")
end

-- Every typecode keeps its extremes, element by element.
function test_extremes()
  local q = mp.Array("q", {-(2 ^ 53), 2 ^ 53, 0})
  assert.eq(q:totable(), {-(2 ^ 53), 2 ^ 53, 0})
  local h = mp.Array("h", {-32768, 32767})
  assert.eq(h:totable(), {-32768, 32767})
end

function test_locks()
  local a = mp.Array("i", {1, 2, 3})
  assert.truthy(tostring(a:get_lock()):find("^<RLock"), tostring(a:get_lock()))
  local lock = mp.Lock()
  local al = mp.Array("i", 2, lock)
  assert.eq(al:get_lock(), lock)
  local raw = mp.Array("i", 2, false)
  assert.errtype(function() raw:get_lock() end, "AttributeError")
end

-- A child writes; the parent reads. Children sum into slots under the
-- Array's lock.
function test_children_sum_under_the_lock()
  local sums = mp.Array("q", 4)
  local ps = {}
  for i = 1, 4 do
    ps[i] = mp.Process{target = function(arr, k)
      for j = 1, 500 do
        mp.with(arr, function()
          arr[k] = arr[k] + j
          arr[4] = arr[4] + 1
        end)
      end
    end, args = {sums, (i - 1) % 3 + 1}}
    ps[i]:start()
  end
  for i = 1, 4 do ps[i]:join(30); assert.eq(ps[i].exitcode, 0) end
  assert.eq(sums:totable(), {2 * 125250, 125250, 125250, 2000})
end

function test_close()
  local a = mp.Array("i", {1, 2, 3})
  a:close()
  assert.errtype(function() return a[1] end, "ValueError")
  assert.errtype(function() return #a end, "ValueError")
end

-- More than the arena holds: ArenaFullError, saying how to raise it.
function test_arena_full()
  local err = assert.errtype(function() mp.Array("d", 2 ^ 37) end, "ArenaFullError")
  assert.truthy(tostring(err.message):find("PROCSH_ARENA_SIZE"), err.message)
end

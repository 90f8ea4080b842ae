-- A Manager's list: 1-based indexing, every method and error, and
-- children appending to it.
local mp = require("multiprocessing")
local assert = require("assert")
local procs = require("procs")

function test_index_and_set()
  local m = mp.Manager()
  local l = m:list{"a", "b", "c"}
  assert.eq(#l, 3)
  assert.eq(l:len(), 3)
  assert.eq(l[1], "a")
  assert.eq(l[3], "c")
  l[2] = {1, 2}
  assert.eq(l[2], {1, 2})
  local err = assert.errtype(function() return l[4] end, "IndexError")
  assert.truthy(err.message:find("index 4 out of range, want 1 to 3", 1, true), err.message)
  assert.errtype(function() return l[0] end, "IndexError")
  assert.errtype(function() l[4] = "d" end, "IndexError")
  assert.errtype(function() l[1.5] = "d" end, "TypeError")
  assert.errtype(function() l.x = "d" end, "TypeError")
  assert.errtype(function() l[1] = nil end, "ValueError")
  assert.eq(l.nothing, nil)
  m:shutdown()
end

function test_methods()
  local m = mp.Manager()
  local l = m:list()
  l:append(1)
  l:extend{2, 3}
  l:extend(m:list{4, 5})
  assert.eq(l:copy(), {1, 2, 3, 4, 5})
  l:insert(1, 0)
  l:insert(3, 1.5)
  l:insert(#l + 1, 6)
  assert.eq(l:copy(), {0, 1, 1.5, 2, 3, 4, 5, 6})
  assert.errtype(function() l:insert(10, 9) end, "IndexError")
  assert.errtype(function() l:insert(0, 9) end, "IndexError")
  assert.eq(l:pop(), 6)
  assert.eq(l:pop(1), 0)
  assert.eq(l:pop(2), 1.5)
  assert.errtype(function() l:pop(9) end, "IndexError")
  assert.eq(l:copy(), {1, 2, 3, 4, 5})
  l:append(2)
  assert.eq(l:index(2), 2)
  assert.eq(l:index(2, 3), 6)
  assert.errtype(function() l:index(2, 3, 5) end, "ValueError")
  assert.eq(l:index(5, 1, 5), 5)
  assert.eq(l:count(2), 2)
  assert.eq(l:count(7), 0)
  l:remove(2)
  assert.eq(l:copy(), {1, 3, 4, 5, 2})
  local err = assert.errtype(function() l:remove(7) end, "ValueError")
  assert.truthy(err.message:find("7 is not in the list", 1, true), err.message)
  local seen = {}
  for i, v in l:iter() do seen[i] = v end
  assert.eq(seen, {1, 3, 4, 5, 2})
  l:clear()
  assert.eq(#l, 0)
  err = assert.errtype(function() l:pop() end, "IndexError")
  assert.truthy(err.message:find("empty"), err.message)
  assert.errtype(function() l:append(nil) end, "ValueError")
  assert.errtype(function() l:append() end, "TypeError")
  assert.errtype(function() l:extend(m:dict()) end, "TypeError")
  -- Values compare by their encoding: tables by content.
  l:append({a = 1})
  assert.eq(l:index({a = 1}), 1)
  m:shutdown()
end

-- Children append at once; every item arrives exactly once.
function test_children()
  local m = mp.Manager()
  local l = m:list()
  local ps = {}
  for i = 1, 3 do
    ps[i] = procs.start(function(l, i)
      for j = 1, 100 do
        if j % 10 == 0 then
          l:extend{i * 1000 + j, -(i * 1000 + j)}
        else
          l:append(i * 1000 + j)
        end
      end
    end, l, i)
  end
  for _, p in ipairs(ps) do procs.finish(p) end
  assert.eq(#l, 330)
  local seen = {}
  for _, v in l:iter() do
    assert.eq(seen[v], nil, "item " .. v .. " twice")
    seen[v] = true
  end
  for i = 1, 3 do
    for j = 1, 100 do assert.truthy(seen[i * 1000 + j], "item " .. i * 1000 + j) end
  end
  m:shutdown()
end

-- Run whole (procsh testdata/manager_list.lua), the script runs every test;
-- the test runner (testdata/lib/runtest.lua) names one and runs that.
if select("#", ...) == 0 then
  for _, test in ipairs{
    test_index_and_set,
    test_methods,
    test_children,
  } do test() end
end

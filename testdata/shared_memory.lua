-- mp.shared_memory: SharedMemory (named blocks, read/write at 0-based
-- offsets, close, unlink, handles to other processes) and ShareableList.
-- Every test unlinks the blocks it makes and checks they are gone.
local mp = require("multiprocessing")
local assert = require("assert")
local procs = require("procs")
local sm = mp.shared_memory
local time = require("time")

-- gone asserts that no block is named name any more.
local function gone(name)
  assert.errtype(function() sm.SharedMemory(name) end, "FileNotFoundError")
end

-- new makes a block of size bytes with a fresh name.
local function new(size)
  return sm.SharedMemory{create = true, size = size}
end

function test_module()
  assert.eq(require("multiprocessing.shared_memory"), sm)
  assert.eq(type(sm.SharedMemory), "function")
  assert.eq(type(sm.ShareableList), "function")
end

function test_create_and_attach()
  local s = new(10)
  assert.truthy(s.name:match("^psm_%x+$"), "a fresh name as Python's: " .. s.name)
  assert.eq(s.size, 10)
  assert.eq(s:read(), string.rep("\0", 10), "a new block is zeroed")
  assert.eq(tostring(s), "SharedMemory('" .. s.name .. "', size=10)")
  -- Attaching takes the block's size; a size given is ignored, as in
  -- Python.
  local a = sm.SharedMemory(s.name)
  assert.eq(a.size, 10)
  assert.eq(sm.SharedMemory{name = s.name, size = 3}.size, 10)
  assert.eq(sm.SharedMemory(s.name, false, 100).size, 10)
  s:write(0, "abc")
  assert.eq(a:read(0, 3), "abc", "one block, two mappings")
  -- A name of our own; a leading slash (as POSIX writes names) is
  -- dropped.
  local name = "procsh_test_" .. s.name
  local n = sm.SharedMemory(name, true, 4)
  assert.eq(n.name, name)
  assert.eq(sm.SharedMemory("/" .. name).size, 4)
  n:unlink()
  s:unlink()
  gone(s.name)
  gone(name)
end

function test_read_write_offsets()
  local s = new(8)
  s:write(0, "ab")
  s:write(6, "yz")
  assert.eq(s:read(), "ab\0\0\0\0yz", "offsets from 0, as Python's buf")
  assert.eq(s:read(6), "yz", "n defaults to the rest")
  assert.eq(s:read(1, 2), "b\0")
  assert.eq(s:read(8), "", "the end is a valid offset")
  assert.eq(s:read(3, 0), "")
  s:write(2, "\0\1\255")
  assert.eq(s:read(2, 3), "\0\1\255", "bytes, not text")
  s:write(0, 42)
  assert.eq(s:read(0, 2), "42", "a number is written as its text, as file:write")
  s:write(8, "")
  -- Out of range.
  assert.errtype(function() s:read(9) end, "IndexError")
  assert.errtype(function() s:read(-1) end, "IndexError")
  assert.errtype(function() s:read(4, 5) end, "IndexError")
  assert.errtype(function() s:read(0, -1) end, "ValueError")
  assert.errtype(function() s:write(9, "") end, "IndexError")
  assert.errtype(function() s:write(-1, "a") end, "IndexError")
  local err = assert.errtype(function() s:write(6, "abc") end, "ValueError")
  assert.truthy(err.message:find("at most 2"), err.message)
  -- Offsets are whole numbers.
  assert.errtype(function() s:read(1.5) end, "TypeError")
  assert.errtype(function() s:read("1") end, "TypeError")
  assert.errtype(function() s:read(0, 0.5) end, "TypeError")
  assert.errtype(function() s:write("a") end, "TypeError")
  assert.errtype(function() s:write(nil, "a") end, "TypeError")
  assert.errtype(function() s:write(0, {}) end, "TypeError")
  assert.errtype(function() s:read(0, 1, 2) end, "TypeError")
  assert.eq(s:read(), "42\0\1\255\0yz", "refused writes wrote nothing")
  s:unlink()
end

function test_errors()
  local s = new(4)
  assert.errtype(function() sm.SharedMemory{name = s.name, create = true, size = 4} end, "FileExistsError")
  assert.errtype(function() sm.SharedMemory("procsh_test_no_such_block") end, "FileNotFoundError")
  assert.errtype(function() sm.SharedMemory{create = true} end, "ValueError")
  assert.errtype(function() sm.SharedMemory{create = true, size = 0} end, "ValueError")
  assert.errtype(function() sm.SharedMemory{create = true, size = -1} end, "ValueError")
  assert.errtype(function() sm.SharedMemory{create = true, size = 2.5} end, "TypeError")
  assert.errtype(function() sm.SharedMemory{create = true, size = "4"} end, "TypeError")
  assert.errtype(function() sm.SharedMemory() end, "ValueError")
  assert.errtype(function() sm.SharedMemory{create = false} end, "ValueError")
  assert.errtype(function() sm.SharedMemory(5) end, "TypeError")
  assert.errtype(function() sm.SharedMemory{name = s.name, create = "yes"} end, "TypeError")
  local err = assert.errtype(function() sm.SharedMemory{name = s.name, sise = 4} end, "TypeError")
  assert.truthy(err.message:find("did you mean 'size'"), err.message)
  for _, bad in ipairs{"a/b", "", "/", ".", "..", string.rep("x", 256), "a\0b"} do
    assert.errtype(function() sm.SharedMemory(bad, true, 4) end, "OSError")
  end
  s:unlink()
end

function test_close()
  local s = new(4)
  local a = sm.SharedMemory(s.name)
  s:close()
  s:close() -- a second close does nothing
  assert.errtype(function() s:read() end, "ValueError")
  assert.errtype(function() s:write(0, "a") end, "ValueError")
  assert.eq(s.name, a.name, "fields stay readable after close, as Python's")
  assert.eq(s.size, 4)
  assert.truthy(tostring(s):find("closed"), tostring(s))
  a:write(0, "ok")
  assert.eq(a:read(0, 2), "ok", "other mappings live on")
  s:unlink() -- unlink needs no mapping
  gone(a.name)
  a:close()
end

function test_unlink()
  local s = new(4)
  local a = sm.SharedMemory(s.name)
  s:unlink()
  gone(s.name)
  assert.errtype(function() s:unlink() end, "FileNotFoundError")
  assert.errtype(function() a:unlink() end, "FileNotFoundError")
  -- The block lives while it is mapped.
  s:write(0, "live")
  assert.eq(a:read(), "live")
  -- Its name is free again: a new block, not the old one.
  local again = sm.SharedMemory{name = s.name, create = true, size = 8}
  assert.eq(again:read(), string.rep("\0", 8))
  again:unlink()
end

function test_child_writes_parent_reads()
  local s = new(16)
  -- As an argument, and by name.
  procs.finish(procs.start(function(shm, name)
    shm:write(0, "from child")
    local b = sm.SharedMemory(name)
    assert.eq(b.size, 16)
    b:write(12, "name")
  end, s, s.name), "the child")
  assert.eq(s:read(), "from child\0\0name")
  s:unlink()
end

function test_through_queue_and_back()
  local s = new(8)
  local q, back = mp.Queue(), mp.Queue()
  local p = procs.start(function()
    local got = q:get(10)
    assert.eq(tostring(got), "SharedMemory('" .. got.name .. "', size=8)")
    got:write(0, "child")
    back:put(got)
  end)
  q:put(s)
  local r = back:get(10)
  procs.finish(p, "the child")
  assert.eq(r.name, s.name)
  assert.eq(r:read(0, 5), "child")
  s:unlink()
end

-- A block whose name was unlinked still reaches a child: the handle
-- names the block's file, which the child opens through its parent.
function test_handle_after_unlink()
  local s = new(4)
  s:unlink()
  procs.finish(procs.start(function(shm)
    assert.eq(shm:read(), "\0\0\0\0")
    shm:write(0, "kept")
  end, s), "the child")
  assert.eq(s:read(), "kept")
  -- Once closed here, it cannot.
  s:close()
  local p = procs.start(function(shm) end, s)
  p:join(30)
  assert.eq(p.exitcode, 1, "the child cannot attach a block nobody names or holds")
end

-- A child killed in the middle of writes leaves the block usable by
-- the others: every byte is one some process wrote.
function test_child_killed_while_writing()
  local s = new(4096)
  local started = mp.Event()
  for round = 1, 5 do
    started:clear()
    local p = procs.start(function(shm)
      started:set()
      local a, b = string.rep("a", 4096), string.rep("b", 4096)
      while true do
        shm:write(0, a)
        shm:write(0, b)
      end
    end, s)
    assert.truthy(started:wait(10), "the child started")
    time.sleep(0.01 * round)
    p:kill()
    p:join(10)
    assert.eq(p.exitcode, -9)
    assert.truthy(s:read():match("^[ab]+$"), "round " .. round .. ": only bytes the child wrote")
  end
  -- Another process attaches and writes as before.
  procs.finish(procs.start(function(name)
    local b = sm.SharedMemory(name)
    b:write(0, "after")
  end, s.name), "a later child")
  assert.eq(s:read(0, 5), "after")
  s:unlink()
end

-- track = false (Python 3.13): a block the end of the program leaves
-- alone; here it is unlinked by hand.
function test_track_false()
  local s = sm.SharedMemory{create = true, size = 4, track = false}
  assert.eq(s.size, 4)
  s:unlink()
  assert.errtype(function() sm.SharedMemory{create = true, size = 4, track = 1} end, "TypeError")
end

function test_shareable_list()
  local l = sm.ShareableList({1, 2.5, "hello", true, false, nil, n = 6})
  assert.eq(#l, 6)
  assert.eq({l[1], l[2], l[3], l[4], l[5], l[6]}, {1, 2.5, "hello", true, false, nil})
  assert.truthy(l.name == nil, "no name field: it is l.shm.name")
  assert.truthy(rawequal(l.shm, l.shm), "the same SharedMemory each time")
  assert.truthy(l.shm.name:match("^psm_%x+$"), l.shm.name)
  assert.eq(tostring(l), "ShareableList({1, 2.5, \"hello\", true, false, nil}, name='" .. l.shm.name .. "')")
  -- Setting: any kind that fits the item's room (8 bytes for a number, a
  -- boolean or nil; a string's length rounded up to 8).
  l[1] = "eight ch"
  l[2] = nil
  l[3] = 3
  l[6] = "x"
  assert.eq({l[1], l[2], l[3], l[6]}, {"eight ch", nil, 3, "x"})
  l[3] = "hellohel"
  assert.eq(l[3], "hellohel")
  local err = assert.errtype(function() l[1] = "nine char" end, "ValueError")
  assert.truthy(err.message:find("room is 8 bytes"), err.message)
  assert.eq(l[1], "eight ch", "a refused set changes nothing")
  -- Indexes from 1 to #l; the length is fixed.
  assert.errtype(function() return l[0] end, "IndexError")
  assert.errtype(function() return l[7] end, "IndexError")
  assert.errtype(function() l[7] = 1 end, "IndexError")
  assert.errtype(function() return l[1.5] end, "TypeError")
  assert.errtype(function() l.x = 1 end, "TypeError")
  assert.errtype(function() l[1] = {} end, "TypeError")
  assert.errtype(function() l[1] = print end, "TypeError")
  -- count and index.
  l[2] = "x"
  assert.eq(l:count("x"), 2)
  assert.eq(l:count(42), 0)
  assert.eq(l:index("x"), 2)
  assert.eq(l:index(true), 4)
  assert.errtype(function() l:index(42) end, "ValueError")
  l.shm:unlink()
end

function test_shareable_list_attach_and_copy()
  local l = sm.ShareableList({"a", 1})
  local a = sm.ShareableList(nil, {name = l.shm.name})
  assert.eq(#a, 2)
  a[2] = 7
  assert.eq(l[2], 7, "one list, two mappings")
  assert.eq(sm.ShareableList{name = l.shm.name}[1], "a")
  -- A copy in a new block.
  local c = sm.ShareableList(l)
  c[1] = "b"
  assert.eq({c[1], c[2], l[1]}, {"b", 7, "a"})
  -- A new list with a name of our own.
  local name = "procsh_test_" .. l.shm.name
  local named = sm.ShareableList({1}, {name = name})
  assert.eq(named.shm.name, name)
  assert.errtype(function() sm.ShareableList({1}, {name = name}) end, "FileExistsError")
  -- Empty lists.
  local e = sm.ShareableList()
  assert.eq(#e, 0)
  assert.eq(#sm.ShareableList(nil, {name = e.shm.name}), 0)
  -- Attaching what is not a list.
  local raw = new(64)
  assert.errtype(function() sm.ShareableList(nil, {name = raw.name}) end, "ValueError")
  assert.errtype(function() sm.ShareableList(nil, {name = "procsh_test_no_such_list"}) end, "FileNotFoundError")
  assert.errtype(function() sm.ShareableList({{}}) end, "TypeError")
  assert.errtype(function() sm.ShareableList(5) end, "TypeError")
  assert.errtype(function() sm.ShareableList({1}, {nmae = "x"}) end, "TypeError")
  for _, s in ipairs{l.shm, c.shm, named.shm, e.shm, raw} do s:unlink() end
  gone(name)
end

function test_shareable_list_closed()
  local l = sm.ShareableList({1, 2})
  l.shm:close()
  assert.errtype(function() return l[1] end, "ValueError")
  assert.errtype(function() l[1] = 2 end, "ValueError")
  assert.errtype(function() l:count(1) end, "ValueError")
  assert.eq(#l, 2, "the length stays known")
  assert.truthy(tostring(l):find("closed"), tostring(l))
  l.shm:unlink()
end

function test_shareable_list_in_children()
  local l = sm.ShareableList({0, "", false, n = 3})
  local q = mp.Queue()
  procs.finish(procs.start(function(list, name)
    list[1] = list[1] + 1
    local byname = sm.ShareableList(nil, {name = name})
    byname[2] = "child"
    q:put(byname)
  end, l, l.shm.name), "the child")
  local back = q:get(10)
  back[3] = true
  assert.eq({l[1], l[2], l[3]}, {1, "child", true})
  l.shm:unlink()
end

-- A child killed while setting items leaves every item readable.
function test_shareable_list_child_killed()
  local l = sm.ShareableList({"........", 0, "........", 0})
  local started = mp.Event()
  for round = 1, 5 do
    started:clear()
    local p = procs.start(function(list)
      started:set()
      local i = 0
      while true do
        i = i + 1
        list[1] = i
        list[2] = string.format("%8d", i)
        list[3] = i % 2 == 0
        list[4] = string.rep(string.char(65 + i % 26), 8)
      end
    end, l)
    assert.truthy(started:wait(10), "the child started")
    time.sleep(0.01 * round)
    p:kill()
    p:join(10)
    for i = 1, #l do
      local v = l[i]
      assert.truthy(v ~= nil, "round " .. round .. ": item " .. i .. " holds a value")
    end
    assert.truthy(l[4]:match("^%u+$"), "round " .. round .. ": " .. l[4])
  end
  l[1] = "after"
  assert.eq(l[1], "after")
  l.shm:unlink()
end

-- Limits are inherited: a process's children run under its limits, and
-- may be given tighter ones of their own, never looser.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local supported = require("limits_support")

-- inGrandchild runs fn in a grandchild whose parent runs under limits,
-- and returns what fn returned.
local function inGrandchild(limits, fn)
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local c = mp.Process{target = function() q:put({fn()}) end}
    c:start()
    c:join(30)
  end, limits = limits}
  p:start()
  local got = q:get(30)
  p:join(30)
  assert.eq(p.exitcode, 0)
  return got
end

-- The file, program and memory limits of the parent bind its child.
function test_grandchild()
  if not supported("files") or not supported("memory") then return end
  local got = inGrandchild({files = false, exec = false, memory = "200M"}, function()
    local _, err = io.open("/etc/hostname")
    local _, e1 = pcall(os.execute, "true")
    local _, e2 = pcall(string.rep, "x", 1e9)
    return err, e1.type, e2.type
  end)
  assert.eq(got, {"open /etc/hostname: permission denied", "PermissionError", "MemoryError"})
end

-- A pool worker of a limited process is limited too.
function test_pool_in_limited_process()
  if not supported("files") then return end
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local pool = mp.Pool(1)
    q:put(pool:apply(function() return select(2, io.open("/etc/hostname")) end))
    pool:close()
    pool:join(10)
  end, limits = {files = false}}
  p:start()
  assert.eq(q:get(30), "open /etc/hostname: permission denied")
  p:join(10)
end

-- A child's wall-clock time is what is left of its parent's: the
-- grandchild ends with its parent.
function test_wall()
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local c = mp.Process{target = function() q:put(mp.current_process().pid) time.sleep(30) end}
    c:start()
    c:join()
  end, limits = {wall = 1}}
  local t0 = time.monotonic()
  p:start()
  local pid = q:get(30)
  p:join(10)
  assert.between(time.monotonic() - t0, 1, 3, "seconds until the tree ended")
  assert.eq(p.limit, "wall")
  assert.eq(os.execute("kill -0 " .. pid .. " 2>/dev/null"), 1, "the grandchild is gone")
end

-- A child may tighten a limit, not loosen it: memory = "1G" under a
-- parent's 200M is still 200M.
function test_no_loosening()
  if not supported("memory") then return end
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local c = mp.Process{target = function()
      local _, e = pcall(string.rep, "x", 3e8)
      q:put(e and e.type or "allowed")
    end, limits = {memory = "1G"}}
    c:start()
    c:join(30)
  end, limits = {memory = "200M"}}
  p:start()
  assert.eq(q:get(30), "MemoryError")
  p:join(10)
end

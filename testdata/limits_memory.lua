-- Limits: memory, what a process or a pool task may hold beyond a fresh
-- process (the shared arena not counted). Past it the Lua code gets
-- MemoryError{limit = "memory"}: before an allocation that would pass
-- it (string.rep, .., table.concat, a table's growth), or when a watcher
-- sees the heap past it. Never a crash: the process, its siblings and
-- its parent go on.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function grow()
  local t, i = {}, 0
  while true do
    i = i + 1
    t[i] = {i}
  end
end

local supported = require("limits_support")

-- A table grown forever, a string.rep of a gigabyte and a concatenation
-- past the limit are each a MemoryError the code catches; a sibling
-- with no limit builds its table meanwhile.
function test_memory_errors()
  if not supported("memory") then return end
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local _, e = pcall(grow)
    q:put({e.type, e.limit})
    _, e = pcall(string.rep, "x", 1e9)
    q:put({e.type, e.limit})
    _, e = pcall(function() local s = string.rep("x", 1e8) return s .. s .. s end)
    q:put({e.type, e.limit})
    q:put(#string.rep("x", 1e6))
  end, limits = {memory = "200M"}}
  local sibling = mp.Process{target = function()
    local t = {}
    for i = 1, 2e6 do t[i] = {i} end
    q:put("sibling built " .. #t)
  end}
  p:start()
  sibling:start()
  local got = {}
  for i = 1, 5 do got[i] = q:get(60) end
  table.sort(got, function(a, b) return tostring(a) < tostring(b) end)
  local errs = {}
  for _, v in ipairs(got) do
    if type(v) == "table" then errs[#errs + 1] = v[1] .. " " .. v[2] end
  end
  assert.eq(errs, {"MemoryError memory", "MemoryError memory", "MemoryError memory"})
  p:join(10)
  sibling:join(10)
  assert.eq({p.exitcode, sibling.exitcode}, {0, 0})
  local rest = {}
  for _, v in ipairs(got) do
    if type(v) ~= "table" then rest[#rest + 1] = v end
  end
  table.sort(rest, function(a, b) return tostring(a) < tostring(b) end)
  assert.eq(rest, {1000000, "sibling built 2000000"})
end

-- A process that keeps what it grew past its limit, catching each
-- MemoryError, is ended a second later, and says why on stderr. (It
-- grows a table's hash part, which the watcher sees only once past the
-- limit; growing the array part is refused before.)
function test_holding_ended()
  if not supported("memory") then return end
  -- expect stderr: did not let go of it after its MemoryError; ended
  local p = mp.Process{target = function()
    -- A list of small pieces: no one allocation is large enough for
    -- the interpreter's check, so the heap itself passes the limit and
    -- the watcher raises; the list is kept past that.
    held = nil
    pcall(function()
      local i = 0
      while true do i = i + 1; held = {next = held, s = string.rep("x", 1000) .. i} end
    end)
    -- It keeps the list and goes on adding to it, a little at a time:
    -- a list that merely stayed would sit at the limit, where a
    -- collection can bring the heap back under it.
    local deadline, i = time.monotonic() + 10, 0
    while time.monotonic() < deadline do
      pcall(function()
        for _ = 1, 100 do i = i + 1; held = {next = held, s = string.rep("y", 1000) .. i} end
        time.sleep(0.05)
      end)
    end
  end, limits = {memory = "100M"}}
  p:start()
  p:join(30)
  assert.eq(p.exitcode, -9)
end

-- A pool task's MemoryError comes back as it is; the worker goes on.
function test_pool_task()
  if not supported("memory") then return end
  local pool = mp.Pool{processes = 1, limits = {memory = "200M"}}
  local e = assert.errtype(function() pool:apply(grow) end, "MemoryError")
  assert.eq(e.limit, "memory")
  e = assert.errtype(function() pool:apply(string.rep, {"x", 1e9}) end, "MemoryError")
  assert.truthy(e.message:find("an allocation of 953 MiB would take this process past its limit of 200 MiB"), e.message)
  assert.eq(pool:apply(function() return #string.rep("x", 1e7) end), 1e7)
  pool:close()
  assert.eq(pool:join(10), true)
end

-- Lua that behaves like Lua 5.1: an error closes only the upvalues of the
-- frames it unwinds, and error levels blame the right line — in the main
-- process, in a child and in a pool worker.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

-- Returns nil when all holds, else what went wrong.
local function check()
  local count = 0
  local function inc() count = count + 1 end
  inc()
  pcall(function() error("boom") end)
  inc()
  if count ~= 2 then return "upvalue after pcall: " .. count end

  -- An error thrown from Go (a procsh TimeoutError) behaves the same.
  local n = 0
  local function bump() n = n + 1 end
  bump()
  local q = mp.Queue()
  local ok, err = pcall(function() return q:get(true, 0.01) end)
  if ok or err.type ~= "Empty" then return "want Empty, got " .. tostring(err) end
  bump()
  if n ~= 2 then return "upvalue after a Go error: " .. n end

  -- Nested pcalls, and xpcall's handler sees the upvalue before unwinding.
  local m = 0
  local function add() m = m + 1 end
  local seen
  xpcall(function()
    add()
    pcall(function() add() error("inner") end)
    add()
    error("outer")
  end, function() seen = m end)
  add()
  if seen ~= 3 or m ~= 4 then return "xpcall: seen " .. tostring(seen) .. ", m " .. m end

  -- Inside a coroutine.
  local c = 0
  local co = coroutine.wrap(function()
    local function up() c = c + 1 end
    up()
    pcall(error, "x")
    up()
    coroutine.yield(c)
  end)
  if co() ~= 2 then return "coroutine: " .. c end

  -- error levels: 1 blames the caller of error, 2 its caller.
  local function lvl1() error("L1", 1) end
  local function lvl2() error("L2", 2) end
  local _, e1 = pcall(lvl1)
  local _, e2 = pcall(function()
    lvl2() -- this line is blamed
  end)
  local _, e0 = pcall(error, "L0", 0)
  if not tostring(e1):find("lua_errors.lua:52: L1") then return "level 1: " .. tostring(e1) end
  if not tostring(e2):find("lua_errors.lua:56: L2") then return "level 2: " .. tostring(e2) end
  if e0 ~= "L0" then return "level 0: " .. tostring(e0) end

  -- Lua 5.2's table.pack and table.unpack.
  local t = table.pack(1, nil, 3)
  if t.n ~= 3 or select("#", table.unpack(t, 1, t.n)) ~= 3 then return "table.pack/unpack" end
  return nil
end

function test_main_process()
  assert.eq(check(), nil, "main process")
end

function test_child_process()
  local p = mp.Process{target = function()
    local why = check()
    if why then io.stderr:write("child: " .. why .. "\n") os.exit(2) end
  end}
  p:start()
  p:join(20)
  assert.eq(p.exitcode, 0, "child process")
end

function test_pool_worker()
  mp.with(mp.Pool(1), function(pool)
    assert.eq(pool:apply(check), nil, "pool worker")
  end)
end

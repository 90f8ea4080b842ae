-- A child starts with a copy of the globals and upvalues as they are at
-- start(); its changes never reach the parent.
local mp = require("multiprocessing")
local assert = require("assert")

function test_globals_and_upvalues_as_at_start()
  counter = 1
  local shared = {n = 1}
  local list = {}
  local function child(expect)
    if counter ~= expect or shared.n ~= expect then os.exit(10 + counter) end
    counter = counter + 100
    shared.n = 999
    for i = 1, 1000 do list[#list + 1] = i end
    if #list ~= 1000 then os.exit(3) end
  end

  local p = mp.Process{target = child, args = {1}}
  counter, shared.n = 1, 1
  p:start()
  -- Changed after start: the running child does not see it.
  counter, shared.n = 2, 2
  p:join(10)
  assert.eq(p.exitcode, 0, "child saw the values of start()")
  assert.eq(counter, 2, "parent's global untouched")
  assert.eq(shared.n, 2, "parent's table untouched")
  assert.eq(#list, 0, "parent's list stays empty")

  local p2 = mp.Process{target = child, args = {2}}
  p2:start(); p2:join(10)
  assert.eq(p2.exitcode, 0, "a second child sees the new values")
end

-- Shared upvalues stay shared inside the child; cycles and metatables kept.
function test_shared_upvalues_cycles_metatables()
  local n = 0
  local function inc() n = n + 1 end
  local function get() return n end
  local cyc = setmetatable({}, {__index = function(t, k) return k .. "!" end})
  cyc.self = cyc
  local p3 = mp.Process{target = function()
    inc(); inc()
    if get() ~= 2 then os.exit(31) end
    if cyc.self ~= cyc or cyc.x ~= "x!" then os.exit(32) end
    if string.format("%d", 5) ~= "5" then os.exit(33) end
  end}
  p3:start(); p3:join(10)
  assert.eq(p3.exitcode, 0, "shared upvalues, cycles, metatables")
  assert.eq(n, 0)
end

-- A global that cannot be sent does not stop a start; using it in the
-- child is a SerializationError, not a silent nil.
function test_unsendable_global()
  co = coroutine.create(function() end)
  local p4 = mp.Process{target = function()
    local ok, err = pcall(function() return co.status end)
    if ok or err.type ~= "SerializationError" then os.exit(41) end
    if not tostring(err):find("coroutine") then os.exit(42) end
    if not tostring(co):find("not sent") then os.exit(43) end
  end}
  p4:start(); p4:join(10)
  assert.eq(p4.exitcode, 0, "unsendable global placeholder")
end

-- Arguments that cannot be sent are an error naming their path.
function test_unsendable_argument()
  local co = coroutine.create(function() end)
  local err = assert.errtype(function()
    mp.Process{target = print, args = {1, {co = co}}}:start()
  end, "SerializationError")
  assert.truthy(tostring(err):find("args%[2%]%.co"), tostring(err))
  assert.truthy(tostring(err):find("coroutine"), tostring(err))
  err = assert.errtype(function()
    local f = io.open("testdata/lib/assert.lua")
    local function uses() return f end
    mp.Process{target = uses}:start()
  end, "SerializationError")
  assert.truthy(tostring(err):find("upvalue 'f'"), tostring(err))
end

-- Functions from load, loadstring and require travel too.
function test_loaded_functions()
  local loaded = loadstring("return function(x) return x * 3 end")()
  local viaLoad = load(function() local s = "return 7"; local done; return nil end)
  local p5 = mp.Process{target = function(f) if f(5) ~= 15 then os.exit(51) end end, args = {loaded}}
  p5:start(); p5:join(10)
  assert.eq(p5.exitcode, 0, "function from loadstring")
end

-- Each process has its own random seed.
function test_random_seed_per_process()
  local r = math.random()
  local p6 = mp.Process{target = function(parentR) if math.random() == parentR then os.exit(61) end end, args = {math.random()}}
  p6:start(); p6:join(10)
  assert.eq(p6.exitcode, 0)
  math.randomseed(42); local x1 = math.random()
  math.randomseed(42); local x2 = math.random()
  assert.eq(x1, x2, "randomseed repeats")
end

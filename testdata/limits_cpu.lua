-- Limits: cpu, the CPU time of a process or of a pool task (RLIMIT_CPU).
-- At the limit the Lua code gets LimitError{limit = "cpu"}; code that
-- goes on regardless is ended a few seconds of CPU time later. Time
-- spent waiting is not CPU time.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

local function spin() while true do end end
local function stubborn() while true do pcall(spin) end end

-- supported says whether this kernel enforces limit; if not, the test
-- says why and passes.
local supported = require("limits_support")

-- A spinning Process gets LimitError and may go on to report it.
function test_spinner_stopped()
  if not supported("cpu") then return end
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local ok, e = pcall(spin)
    q:put({ok, e.type, e.limit, e.message})
  end, limits = {cpu = 1}}
  p:start()
  assert.eq(q:get(30), {false, "LimitError", "cpu", "cpu: used its CPU time limit of 1 s"})
  p:join(10)
  assert.eq(p.exitcode, 0)
end

-- A Process that sleeps past its CPU time is not stopped.
function test_sleeper_not_stopped()
  if not supported("cpu") then return end
  local p = mp.Process{target = function() time.sleep(1.5) end, limits = {cpu = 1}}
  p:start()
  p:join(10)
  assert.eq(p.exitcode, 0)
end

-- A Process that catches its LimitError and spins on is ended (SIGKILL),
-- and says why on stderr.
function test_stubborn_ended()
  if not supported("cpu") then return end
  -- expect stderr: LimitError: cpu: still running 2 s after its CPU time limit of 1 s and its LimitError; ended
  local p = mp.Process{target = stubborn, limits = {cpu = 1}}
  p:start()
  p:join(30)
  assert.eq(p.exitcode, -9)
end

-- A pool task gets its own CPU time; the LimitError comes back as it is,
-- and the worker serves the next task.
function test_pool_task()
  if not supported("cpu") then return end
  local pool = mp.Pool{processes = 1}
  local pid = pool:apply(function() return mp.current_process().pid end)
  local e = assert.errtype(function() pool:apply(spin, {limits = {cpu = 1}}) end, "LimitError")
  assert.eq(e.limit, "cpu")
  assert.truthy(e.traceback:find("stack traceback"), e.traceback)
  assert.eq(pool:apply(function() time.sleep(1.5) return mp.current_process().pid end, {limits = {cpu = 1}}), pid, "a sleeping task, on the same worker")
  pool:close()
  assert.eq(pool:join(10), true)
end

-- A pool task that goes on after its LimitError ends its worker, which
-- is replaced; the task fails with LimitError.
function test_pool_stubborn()
  if not supported("cpu") then return end
  local pool = mp.Pool{processes = 1, limits = {cpu = 1}}
  local e = assert.errtype(function() pool:apply(stubborn) end, "LimitError")
  assert.eq(e.limit, "cpu")
  assert.truthy(e.message:find("its worker PoolWorker%-%d+ %(pid %d+%) was ended and replaced"), e.message)
  assert.eq(pool:apply(function() return "next" end), "next")
  pool:close()
  assert.eq(pool:join(10), true)
end

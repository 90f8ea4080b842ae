-- mp.get_logger() and mp.log_to_stderr(): Python's multiprocessing
-- logger. The exact lines procsh's own events write are checked by
-- logging_test.go; this checks the Lua side.
local mp = require("multiprocessing")
local assert = require("assert")
local procs = require("procs")

-- The levels are numbers, as Python's.
function test_levels()
  assert.eq({mp.NOTSET, mp.SUBDEBUG, mp.DEBUG, mp.INFO, mp.SUBWARNING, mp.WARNING, mp.ERROR, mp.CRITICAL},
    {0, 5, 10, 20, 25, 30, 40, 50})
end

-- One logger per process, with no level set: WARNING is in effect.
function test_get_logger()
  local log = mp.get_logger()
  assert.eq(rawequal(log, mp.get_logger()), true, "the same object each time")
  assert.eq(tostring(log), "<Logger multiprocessing (WARNING)>")
  assert.eq(log:getEffectiveLevel(), mp.WARNING)
  assert.eq(log:isEnabledFor(mp.INFO), false)
  assert.eq(log:isEnabledFor("ERROR"), true)
  assert.errtype(function() mp.get_logger(1) end, "TypeError")
end

-- setLevel takes a number or a level's name; 0 unsets it.
function test_set_level()
  local log = mp.get_logger()
  log:setLevel(mp.DEBUG)
  assert.eq(log:getEffectiveLevel(), 10)
  assert.eq(tostring(log), "<Logger multiprocessing (DEBUG)>")
  log:setLevel("SUBWARNING")
  assert.eq(log:getEffectiveLevel(), 25)
  log:setLevel(7)
  assert.eq(tostring(log), "<Logger multiprocessing (Level 7)>")
  log:setLevel(mp.NOTSET)
  assert.eq(log:getEffectiveLevel(), mp.WARNING)
  local err = assert.errtype(function() log:setLevel("info") end, "ValueError")
  assert.truthy(err.message:find("'info'", 1, true), err.message)
  assert.truthy(err.message:find("NOTSET, SUBDEBUG, DEBUG, INFO, SUBWARNING, WARNING, ERROR, CRITICAL", 1, true), err.message)
  assert.errtype(function() log:setLevel(-1) end, "ValueError")
  assert.errtype(function() log:setLevel(2.5) end, "ValueError")
  assert.errtype(function() log:setLevel({}) end, "TypeError")
  assert.errtype(function() log:log("LOUD", "x") end, "ValueError")
end

-- log_to_stderr returns the logger, and sets the level when given one.
function test_log_to_stderr()
  local log = mp.log_to_stderr()
  assert.eq(rawequal(log, mp.get_logger()), true)
  assert.eq(log:getEffectiveLevel(), mp.WARNING)
  mp.log_to_stderr("ERROR")
  assert.eq(log:getEffectiveLevel(), mp.ERROR)
  mp.log_to_stderr(0) -- as Python's: a false level leaves it
  assert.eq(log:getEffectiveLevel(), mp.ERROR)
  log:error("%d%% of %s", 50, "it")
  -- expect stderr: [ERROR/MainProcess] 50% of it
  log:critical("100%")
  -- expect stderr: [CRITICAL/MainProcess] 100%
  log:warning("dropped")
  log:log(45, "at %s", "45")
  -- expect stderr: [Level 45/MainProcess] at 45
  assert.fails(function() log:error({}, 1) end, "string expected")
end

-- With no handler, a WARNING or above is written bare, as Python's last
-- resort writes it; what is below is dropped.
function test_no_handler()
  local log = mp.get_logger()
  log:warning("careful: %s", "bare")
  -- expect stderr: careful: bare
  log:info("not shown")
  log:error(42)
  -- expect stderr: 42
end

-- A child starts with its parent's level and handler, and a Logger sent
-- to it (an upvalue here) is the child's own.
function test_child_inherits()
  local log = mp.log_to_stderr(mp.ERROR)
  local q = mp.Queue()
  procs.finish(procs.start(function()
    q:put({log:getEffectiveLevel(), rawequal(log, mp.get_logger())})
    log:error("from %s", mp.current_process().name)
    log:setLevel(mp.DEBUG) -- the child's own
  end), "child")
  -- expect stderr: [ERROR/Process-1] from Process-1
  assert.eq(q:get(5), {mp.ERROR, true})
  assert.eq(log:getEffectiveLevel(), mp.ERROR, "the parent's level is its own")
end

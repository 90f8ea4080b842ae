-- concurrent.futures: ProcessPoolExecutor and Future with real worker
-- processes: submit and result, errors, timeouts, cancel before and
-- after a worker starts, done callbacks, shutdown, with, initializer,
-- max_tasks_per_child.
local mp = require("multiprocessing")
local futures = require("concurrent.futures")
local time = require("time")
local assert = require("assert")

-- poll waits until cond() holds, for 10 seconds at most.
local function poll(cond, what)
  local deadline = time.monotonic() + 10
  while not cond() do
    if time.monotonic() > deadline then error("timed out waiting for " .. what, 2) end
    time.sleep(0.005)
  end
end

-- blocked submits a task that waits for ev (10 s at most) and returns v.
local function blocked(ex, ev, v)
  return ex:submit(function(e, x) e:wait(10) return x end, ev, v)
end

function test_module()
  assert.eq(futures, mp.futures)
  assert.eq(futures.FIRST_COMPLETED, "FIRST_COMPLETED")
  assert.eq(futures.FIRST_EXCEPTION, "FIRST_EXCEPTION")
  assert.eq(futures.ALL_COMPLETED, "ALL_COMPLETED")
  assert.eq(futures.CancelledError, "CancelledError")
  assert.eq(futures.TimeoutError, mp.TimeoutError)
end

-- submit runs fn(...) in a worker, nils among the arguments kept.
function test_submit_result()
  local ex = futures.ProcessPoolExecutor(2)
  local f = ex:submit(function(a, b, c) return tostring(a) .. tostring(b) .. tostring(c) end, 1, nil, 3)
  assert.eq(f:result(10), "1nil3")
  assert.truthy(f:done()); assert.falsy(f:running()); assert.falsy(f:cancelled())
  assert.eq(f:exception(), nil)
  assert.eq(tostring(f), "<concurrent.futures.Future state=finished returned string>")
  local pid = ex:submit(function() return mp.current_process().pid end):result(10)
  assert.ne(pid, mp.current_process().pid, "the task ran in another process")
  assert.truthy(tostring(ex):find("^<concurrent.futures.ProcessPoolExecutor max_workers=2 state=running"), tostring(ex))
  ex:shutdown()
  assert.truthy(tostring(ex):find("state=shutdown", 1, true), tostring(ex))
end

-- A task's error is the error the pool gives (RemoteError, the original
-- in .value): result raises it, exception returns it.
function test_task_error()
  local ex = futures.ProcessPoolExecutor(1)
  local f = ex:submit(function() error({code = 7}) end)
  local e = assert.errtype(function() f:result(10) end, "RemoteError")
  assert.eq(e.value.code, 7)
  assert.eq(f:exception(), e)
  assert.truthy(f:done()); assert.falsy(f:cancelled())
  assert.eq(tostring(f), "<concurrent.futures.Future state=finished raised RemoteError>")
  local g = ex:submit(function(x) return x .. "!" end, {})
  assert.truthy(tostring(g:exception(10)):find("concat", 1, true), tostring(g:exception()))
  -- An error does not harm the worker: the next task runs.
  assert.eq(ex:submit(function() return "next" end):result(10), "next")
  ex:shutdown()
end

-- result and exception wait up to their timeout, then raise TimeoutError.
function test_timeouts()
  local ex = futures.ProcessPoolExecutor(1)
  local ev = mp.Event()
  local f = blocked(ex, ev, "late")
  local t = time.monotonic()
  assert.errtype(function() f:result(0.1) end, "TimeoutError")
  assert.between(time.monotonic() - t, 0.09, 2, "result(0.1) waited about its timeout")
  assert.errtype(function() f:exception(0.05) end, "TimeoutError")
  assert.errtype(function() f:result(0) end, "TimeoutError")
  assert.errtype(function() f:result({timeout = 0}) end, "TimeoutError")
  assert.errtype(function() f:result("soon") end, "TypeError")
  assert.falsy(f:done())
  ev:set()
  assert.eq(f:result(10), "late")
  ex:shutdown()
end

-- cancel succeeds while no worker has the task, fails once one has it;
-- a cancelled future raises CancelledError and runs its callbacks at once.
function test_cancel_before_and_after_start()
  local ex = futures.ProcessPoolExecutor(1)
  local ev = mp.Event()
  local a = blocked(ex, ev, "a")
  local b = blocked(ex, ev, "b")
  poll(function() return a:running() end, "a to run")
  assert.falsy(b:running(), "b waits: the only worker runs a")
  assert.eq(tostring(a), "<concurrent.futures.Future state=running>")
  assert.eq(tostring(b), "<concurrent.futures.Future state=pending>")
  local seen = {}
  b:add_done_callback(function(fut) seen[#seen + 1] = fut end)
  assert.eq(b:cancel(), true)
  assert.eq(seen, {b}, "the callback ran in cancel")
  assert.eq(b:cancel(), true, "cancelling again")
  assert.truthy(b:cancelled()); assert.truthy(b:done()); assert.falsy(b:running())
  assert.eq(tostring(b), "<concurrent.futures.Future state=cancelled>")
  assert.errtype(function() b:result() end, "CancelledError")
  assert.errtype(function() b:exception() end, "CancelledError")
  b:add_done_callback(function(fut) seen[#seen + 1] = "late" end)
  assert.eq(seen, {b, "late"}, "a callback added when done runs at once")
  assert.eq(a:cancel(), false, "a worker runs a")
  assert.falsy(a:cancelled())
  ev:set()
  assert.eq(a:result(10), "a")
  assert.eq(a:cancel(), false, "a is finished")
  ex:shutdown()
end

-- add_done_callback: fn(future) in this process once done, in the order
-- added, before the call that saw the result returns; an error in one is
-- written to stderr and the others still run.
function test_add_done_callback()
  local ex = futures.ProcessPoolExecutor(1)
  local ev = mp.Event()
  local f = blocked(ex, ev, 5)
  local seen = {}
  f:add_done_callback(function(fut) seen[#seen + 1] = {"first", fut:result(), mp.current_process().name} end)
  f:add_done_callback(function() error("callback broke") end)
  f:add_done_callback(function(fut) seen[#seen + 1] = {"third", fut == f, fut:done()} end)
  assert.errtype(function() f:add_done_callback(5) end, "TypeError")
  assert.eq(seen, {})
  ev:set()
  assert.eq(f:result(10), 5)
  assert.eq(seen, {{"first", 5, "MainProcess"}, {"third", true, true}})
  local g = ex:submit(function() error("task broke") end)
  local got
  g:add_done_callback(function(fut) got = fut:exception() end)
  futures.wait({g}, 10)
  assert.eq(got and got.type, "RemoteError")
  ex:shutdown()
  -- expect stderr: exception calling callback for <concurrent.futures.Future state=finished returned number>
  -- expect stderr: callback broke
end

function test_submit_after_shutdown()
  local ex = futures.ProcessPoolExecutor(1)
  ex:shutdown()
  local e = assert.errtype(function() ex:submit(print) end, "RuntimeError")
  assert.eq(e.message, "cannot schedule new futures after shutdown")
  assert.errtype(function() ex:map(print, {1}) end, "RuntimeError")
  ex:shutdown() -- again: nothing to do
end

-- shutdown() waits for every pending future and for the workers to exit.
function test_shutdown_waits()
  local ex = futures.ProcessPoolExecutor(2)
  local fs = {}
  for i = 1, 4 do fs[i] = ex:submit(function(x) time.sleep(0.1) return x end, i) end
  ex:shutdown()
  for i, f in ipairs(fs) do
    assert.truthy(f:done(), "future " .. i .. " done after shutdown()")
    assert.eq(f:result(0), i)
  end
  assert.eq(#mp.active_children(), 0, "the workers exited")
end

-- shutdown(false) returns at once; the futures still finish.
function test_shutdown_without_wait()
  local ex = futures.ProcessPoolExecutor(1)
  local ev = mp.Event()
  local a, b = blocked(ex, ev, "a"), blocked(ex, ev, "b")
  local t = time.monotonic()
  ex:shutdown{wait = false}
  assert.between(time.monotonic() - t, 0, 1, "shutdown(wait = false) did not wait")
  assert.falsy(a:done())
  ev:set()
  assert.eq(a:result(10), "a")
  assert.eq(b:result(10), "b", "queued before shutdown, run after it")
  poll(function() return #mp.active_children() == 0 end, "the worker to exit")
end

-- cancel_futures cancels what no worker has started; the running one
-- finishes.
function test_shutdown_cancel_futures()
  local ex = futures.ProcessPoolExecutor(1)
  local ev = mp.Event()
  local running = blocked(ex, ev, "ran")
  poll(function() return running:running() end, "the first task to run")
  local queued = {}
  for i = 1, 3 do queued[i] = blocked(ex, ev, i) end
  local called = 0
  queued[1]:add_done_callback(function() called = called + 1 end)
  ex:shutdown{wait = false, cancel_futures = true}
  assert.eq(called, 1, "the cancelled future's callback ran")
  for i, f in ipairs(queued) do
    assert.truthy(f:cancelled(), "queued future " .. i .. " cancelled")
  end
  assert.falsy(running:cancelled())
  ev:set()
  ex:shutdown()
  assert.eq(running:result(0), "ran")
end

-- mp.with(ex, fn): fn(ex), then shutdown with wait.
function test_with()
  local ex = futures.ProcessPoolExecutor(2)
  local f
  local v = mp.with(ex, function(e)
    assert.eq(e, ex)
    f = e:submit(function() time.sleep(0.1) return "done" end)
    return "value"
  end)
  assert.eq(v, "value")
  assert.truthy(f:done(), "with waited for the pending future")
  assert.eq(f:result(0), "done")
  assert.errtype(function() ex:submit(print) end, "RuntimeError")
  local g
  local ok, err = pcall(mp.with, futures.ProcessPoolExecutor(1), function(e)
    g = e:submit(function() return 1 end)
    error("body failed")
  end)
  assert.falsy(ok); assert.truthy(tostring(err):find("body failed"))
  assert.eq(g:result(0), 1, "the way out waited after an error too")
end

-- initializer(initargs...) runs in each worker before its tasks.
function test_initializer()
  local ex = futures.ProcessPoolExecutor{max_workers = 2, initializer = function(a, b) SETUP = a .. b end, initargs = {"x", "y"}}
  for _ = 1, 4 do
    assert.eq(ex:submit(function() return SETUP end):result(10), "xy")
  end
  ex:shutdown()
  assert.eq(rawget(_G, "SETUP"), nil, "the initializer ran in the workers only")
end

-- max_tasks_per_child: each worker serves that many tasks, then is
-- replaced by a new process.
function test_max_tasks_per_child()
  local ex = futures.ProcessPoolExecutor{max_workers = 1, max_tasks_per_child = 1}
  local pids = {}
  for i = 1, 3 do
    local pid = ex:submit(function() return mp.current_process().pid end):result(10)
    assert.falsy(pids[pid], "task " .. i .. " ran in a new worker")
    pids[pid] = true
  end
  ex:shutdown()
end

-- The executor's arguments are checked.
function test_arguments_checked()
  assert.errtype(function() futures.ProcessPoolExecutor(0) end, "ValueError")
  assert.errtype(function() futures.ProcessPoolExecutor(1.5) end, "ValueError")
  assert.errtype(function() futures.ProcessPoolExecutor("2") end, "TypeError")
  assert.errtype(function() futures.ProcessPoolExecutor{max_tasks_per_child = 0} end, "ValueError")
  assert.errtype(function() futures.ProcessPoolExecutor{initializer = 5} end, "TypeError")
  local e = assert.errtype(function() futures.ProcessPoolExecutor{max_worker = 2} end, "TypeError")
  assert.truthy(e.message:find("max_workers", 1, true), e.message)
  assert.errtype(function() futures.ProcessPoolExecutor{mp_context = 1} end, "TypeError")
  local ex = futures.ProcessPoolExecutor(1)
  assert.errtype(function() ex:submit(5) end, "TypeError")
  assert.errtype(function() ex:submit(function() end, coroutine.create(print)) end, "SerializationError")
  assert.errtype(function() ex:shutdown{wiat = true} end, "TypeError")
  assert.eq(ex:submit(function() return "still works" end):result(10), "still works")
  ex:shutdown()
end

-- At the end of a program, pending futures finish first, as in Python:
-- a child that submits and returns without shutdown still delivers.
function test_end_of_program_waits()
  local q = mp.Queue()
  local child = mp.Process{target = function(q)
    local ex = futures.ProcessPoolExecutor(1)
    ex:submit(function(q) time.sleep(0.2) q:put("delivered") end, q)
  end, args = {q}}
  child:start()
  child:join(20)
  assert.eq(child.exitcode, 0)
  assert.eq(q:get(5), "delivered")
end

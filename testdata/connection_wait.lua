-- mp.connection.wait and Process.sentinel: ready connections, queues and
-- processes, with real children that send, exit, die or are killed.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")
local wait = mp.connection.wait

-- wait(objects, t) must return within [lo, hi] seconds; gives its list.
local function timed(objects, t, lo, hi, what)
  local t0 = time.monotonic()
  local ready = wait(objects, t)
  assert.between(time.monotonic() - t0, lo, hi, what)
  return ready
end

function test_timeouts()
  local r, w = mp.Pipe()
  assert.eq(timed({r}, 0, 0, 0.5, "0 only looks"), {})
  assert.eq(timed({r}, 0.2, 0.15, 2, "a timeout"), {})
  assert.eq(timed({r}, {timeout = 0.1}, 0.05, 2, "an options table"), {})
  assert.eq(timed({r}, -1, 0, 0.5, "a negative timeout is 0"), {})
  assert.eq(timed({}, 0.1, 0.05, 2, "nothing to wait on sleeps out the timeout"), {})
  w:send(1)
  assert.eq(timed({r}, nil, 0, 1, "ready at once"), {r})
  assert.eq(r:recv(), 1)
end

function test_connection_from_child()
  local r, w = mp.Pipe(false)
  local p = mp.Process{target = function(c)
    time.sleep(0.3)
    c:send("late")
  end, args = {w}}
  p:start()
  w:close()
  local ready = timed({r}, 10, 0.1, 5, "until the child sends")
  assert.eq(#ready, 1)
  assert.truthy(ready[1] == r, "the object itself")
  assert.eq(r:recv(), "late")
  p:join(10)
  -- The writer exited: end of file counts as ready, and recv says so.
  assert.eq(timed({r}, 10, 0, 5, "EOF is ready"), {r})
  assert.errtype(function() r:recv() end, "EOFError")
end

-- A child holding the only write end is killed while the parent waits.
function test_writer_killed()
  local r, w = mp.Pipe(false)
  local p = mp.Process{target = function(c) time.sleep(60) c:send("never") end, args = {w}}
  p:start()
  w:close()
  assert.eq(wait({r}, 0.2), {}, "nothing while the writer lives")
  local killer = mp.Process{target = function(pid)
    time.sleep(0.3)
    os.execute("kill -9 " .. pid)
  end, args = {p.pid}}
  killer:start()
  local ready = timed({r}, 20, 0.1, 10, "until the writer is killed")
  assert.eq(#ready, 1)
  assert.errtype(function() r:recv() end, "EOFError")
  p:join(10)
  assert.eq(p.exitcode, -9)
  killer:join(10)
end

function test_sentinel_of_a_child()
  local p = mp.Process{target = function() time.sleep(0.3) end}
  assert.errtype(function() return p.sentinel end, "ValueError")
  p:start()
  local s = p.sentinel
  assert.truthy(s == p.sentinel, "the same sentinel each time")
  assert.truthy(rawequal(s, p.sentinel), "the same object each time")
  assert.truthy(tostring(s):match("^<Sentinel name='Process%-%d+' pid=%d+>$"), tostring(s))
  assert.eq(wait({s}, 0), {})
  local ready = timed({s}, 10, 0.1, 5, "until the child ends")
  assert.truthy(ready[1] == s)
  assert.eq(p.exitcode, 0, "ended once its sentinel is ready")
  assert.truthy(tostring(s):match(" ended>$"), tostring(s))
  p:join()
  assert.eq(wait({s}, 0), {s}, "stays ready")
  assert.errtype(function() p.sentinel = 1 end, "AttributeError")
  p:close()
  assert.errtype(function() return p.sentinel end, "ValueError")
  assert.eq(wait({s}, 0), {s}, "a sentinel taken before close still works")
end

-- A child that dies: by an error, by os.exit, by terminate(), by SIGKILL.
function test_dying_children()
  -- expect stderr: boom
  local procs = {
    mp.Process{target = function() time.sleep(0.2) error("boom") end},
    mp.Process{target = function() time.sleep(0.2) os.exit(3) end},
    mp.Process{target = function() time.sleep(60) end},
    mp.Process{target = function() time.sleep(60) end},
  }
  local sentinels = {}
  for i, p in ipairs(procs) do
    p:start()
    sentinels[i] = p.sentinel
  end
  procs[3]:terminate()
  procs[4]:kill()
  local left, t0 = 4, time.monotonic()
  local seen = {}
  while left > 0 do
    assert.between(time.monotonic() - t0, 0, 20, "every death is seen")
    for _, s in ipairs(wait(sentinels, 20)) do
      if not seen[s] then seen[s] = true left = left - 1 end
    end
  end
  local codes = {}
  for i, p in ipairs(procs) do
    p:join(10)
    codes[i] = p.exitcode
  end
  assert.eq(codes, {1, 3, -15, -9})
end

function test_queue()
  local q = mp.Queue()
  local jq = mp.JoinableQueue()
  local sq = mp.SimpleQueue()
  assert.eq(wait({q, jq, sq}, 0), {})
  local p = mp.Process{target = function()
    time.sleep(0.2)
    jq:put("j")
  end}
  p:start()
  assert.eq(timed({q, jq, sq}, 10, 0.1, 5, "until the child puts"), {jq})
  assert.eq(jq:get(1), "j")
  jq:task_done()
  q:put(1)
  sq:put(2)
  assert.eq(wait({q, jq, sq}, 0), {q, sq}, "in the order given")
  assert.eq(q:get(1), 1)
  assert.eq(sq:get(1), 2)
  p:join(10)
end

-- Mixed objects: only the ready ones, each once.
function test_mixed()
  local r1, w1 = mp.Pipe()
  local r2, w2 = mp.Pipe()
  local q = mp.Queue()
  local p = mp.Process{target = function() end}
  p:start()
  p:join(10)
  w2:send("x")
  local ready = wait({r1, r2, q, p.sentinel, r2, p}, 5)
  assert.eq(#ready, 3)
  assert.truthy(ready[1] == r2 and ready[2] == p.sentinel and ready[3] == p)
  assert.eq(r2:recv(), "x")
end

-- A sentinel and a Process sent to another process: there, each stands for
-- the same process, watched by its pid.
function test_sentinel_sent()
  local q = mp.Queue()
  local sleeper = mp.Process{target = function() time.sleep(0.4) end}
  sleeper:start()
  local watcher = mp.Process{target = function(s, proc)
    local t0 = time.monotonic()
    local early = #wait({s, proc}, 0)
    local ready = wait({s, proc}, 20)
    q:put({early, #ready, time.monotonic() - t0, tostring(s):match("^<Sentinel") ~= nil})
  end, args = {sleeper.sentinel, sleeper}}
  watcher:start()
  local got = q:get(30)
  assert.eq(got[1], 0, "not ready while the sleeper runs")
  assert.eq(got[2], 2, "both ready once it ended")
  assert.between(got[3], 0.1, 15)
  assert.truthy(got[4])
  watcher:join(10)
  sleeper:join(10)
end

-- A child's own sentinel, sent to its parent, is its child's sentinel
-- there; the child's view of its parent's sentinel is not ready.
function test_own_and_parent_sentinels()
  local q = mp.Queue()
  local p = mp.Process{target = function()
    q:put(mp.current_process().sentinel)
    q:put(#wait({mp.current_process().sentinel}, 0.05))
    q:put(#wait({mp.parent_process().sentinel, mp.parent_process()}, 0.05))
    time.sleep(0.2)
  end}
  p:start()
  local s = q:get(10)
  assert.truthy(s == p.sentinel, "the same sentinel")
  assert.truthy(rawequal(s, p.sentinel), "the same object")
  assert.eq(q:get(10), 0, "its own sentinel is not ready in itself")
  assert.eq(q:get(10), 0, "nor is its parent's")
  assert.eq(#wait({s}, 10), 1)
  p:join(10)
end

function test_bad_arguments()
  assert.errtype(function() wait() end, "TypeError")
  assert.errtype(function() wait(5) end, "TypeError")
  local e = assert.errtype(function() wait({5}) end, "TypeError")
  assert.truthy(e.message:match("objects%[1%]"), e.message)
  e = assert.errtype(function() wait({mp.Lock()}) end, "TypeError")
  assert.truthy(e.message:match("got a Lock"), e.message)
  local r, w = mp.Pipe(false)
  e = assert.errtype(function() wait({r, w}) end, "OSError")
  assert.truthy(e.message:match("objects%[2%]"), e.message)
  r:close()
  assert.errtype(function() wait({r}) end, "OSError")
  local q = mp.Queue()
  q:close()
  assert.errtype(function() wait({q}) end, "ValueError")
  assert.errtype(function() wait({mp.Process{target = print}}) end, "ValueError")
  assert.errtype(function() wait({}, "1") end, "TypeError")
  assert.errtype(function() wait({}, 0 / 0) end, "ValueError")
end

-- The CPU time this process has used, in seconds, from /proc.
local function cpu()
  local f = io.open("/proc/self/stat")
  local stat = f:read("*a")
  f:close()
  local fields = {}
  for x in stat:match("%) (.*)"):gmatch("%S+") do fields[#fields + 1] = x end
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100 -- utime, stime in ticks
end

-- Waiting sleeps: a second's wait on a pipe, a queue, a child and (in a
-- child) the parent costs little CPU time.
function test_no_busy_wait()
  local r, w = mp.Pipe()
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local c0 = cpu()
    wait({mp.parent_process().sentinel, r}, 1)
    q:put(cpu() - c0)
  end}
  p:start()
  local c0 = cpu()
  assert.eq(wait({r, q, p.sentinel}, 0.5), {}, "the child puts only after 1 s")
  wait({r, p.sentinel}, 1)
  assert.between(cpu() - c0, 0, 0.3, "CPU seconds of a 1.5 s wait")
  assert.between(q:get(10), 0, 0.3, "CPU seconds of the child's 1 s wait")
  p:join(10)
end

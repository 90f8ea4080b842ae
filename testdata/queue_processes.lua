-- Queues between processes: many producers and consumers, a 64 MiB
-- message, handles that reach children every way, JoinableQueue workers.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

-- 4 producers × 25,000 items to 3 consumers: nothing lost, nothing
-- duplicated, each producer's items in order at each consumer.
function test_producers_and_consumers()
  local PRODUCERS, CONSUMERS, PER = 4, 3, 25000
  local work, results = mp.Queue(), mp.Queue()

  local function produce(q, id, n)
    for i = 1, n do q:put(id * 1000000 + i) end
  end

  local function consume(q, out)
    local seen, last, n = {}, {}, 0
    while true do
      local v = q:get(20)
      if v == "stop" then break end
      local id, i = math.floor(v / 1000000), v % 1000000
      if last[id] and i <= last[id] then
        error("producer " .. id .. ": item " .. i .. " after " .. last[id])
      end
      last[id] = i
      n = n + 1
      seen[n] = v
    end
    out:put(seen)
  end

  local ps = {}
  for c = 1, CONSUMERS do
    ps[#ps + 1] = mp.Process{target = consume, args = {work, results}}
  end
  for p = 1, PRODUCERS do
    ps[#ps + 1] = mp.Process{target = produce, args = {work, p, PER}}
  end
  for _, p in ipairs(ps) do p:start() end
  for i = CONSUMERS + 1, #ps do ps[i]:join(30) end
  for _ = 1, CONSUMERS do work:put("stop") end
  local count, total = {}, 0
  for _ = 1, CONSUMERS do
    local seen = results:get(30)
    for _, v in ipairs(seen) do
      count[v] = (count[v] or 0) + 1
      total = total + 1
    end
  end
  for i = 1, CONSUMERS do ps[i]:join(10) end
  for _, p in ipairs(ps) do assert.eq(p.exitcode, 0, p.name .. " exit code") end
  assert.eq(total, PRODUCERS * PER, "items got")
  for p = 1, PRODUCERS do
    for i = 1, PER do
      local c = count[p * 1000000 + i]
      if c ~= 1 then error("producer " .. p .. " item " .. i .. " got " .. tostring(c) .. " times") end
    end
  end
  assert.truthy(work:empty())
end

-- A 64 MiB string there and back, with the default ring.
function test_64_mib_message()
  local big = string.rep("procsh!!", 8 * 1024 * 1024)
  assert.eq(#big, 64 * 1024 * 1024)
  local there, back = mp.Queue(), mp.Queue()
  local echo = mp.Process{target = function(i, o)
    local s = i:get(30)
    o:put(#s)
    o:put(s)
  end, args = {there, back}}
  echo:start()
  local t0 = time.monotonic()
  there:put(big)
  assert.eq(back:get(30), #big)
  local got = back:get(30)
  assert.truthy(got == big, "64 MiB string came back intact")
  echo:join(10)
  assert.eq(echo.exitcode, 0)
end

-- Handles reach a child through args, globals and upvalues, and through
-- another queue; a Process object travels too.
function test_handles_reach_a_child()
  local ga = mp.Queue()
  GLOBAL_Q = mp.Queue()
  local upq = mp.Queue()
  local carrier = mp.Queue()
  local inner = mp.Queue()
  carrier:put(inner)
  local child = mp.Process{target = function(argq)
    argq:put("args")
    GLOBAL_Q:put("globals")
    upq:put("upvalues")
    local q = carrier:get(10)
    q:put("through a queue")
    q:put(mp.current_process())
  end, args = {ga}}
  child:start()
  assert.eq(ga:get(10), "args")
  assert.eq(GLOBAL_Q:get(10), "globals")
  assert.eq(upq:get(10), "upvalues")
  assert.eq(inner:get(10), "through a queue")
  local proc = inner:get(10)
  assert.eq(proc.pid, child.pid)
  assert.truthy(proc == child, "a Process object through a queue is the same process")
  child:join(10)
end

-- A child that closes its handle leaves the queue working for others.
function test_child_closes_its_handle()
  local shared = mp.Queue()
  local closer = mp.Process{target = function(q)
    q:put("last words")
    q:close()
    local ok, err = pcall(q.put, q, "more")
    if ok or err.type ~= "ValueError" then error("put after close: " .. tostring(err)) end
  end, args = {shared}}
  closer:start()
  closer:join(10)
  assert.eq(closer.exitcode, 0)
  assert.eq(shared:get(5), "last words")
  shared:put("still mine")
  assert.eq(shared:get(5), "still mine")
end

-- Full and Empty across processes: a bounded queue paces its producer.
function test_bounded_queue_paces_producer()
  local bounded = mp.Queue(3)
  local producer = mp.Process{target = function(q)
    for i = 1, 20 do q:put(i) end
  end, args = {bounded}}
  producer:start()
  for i = 1, 20 do
    assert.truthy(bounded:qsize() <= 3, "qsize within maxsize")
    assert.eq(bounded:get(10), i)
  end
  producer:join(10)
end

-- JoinableQueue: workers mark tasks done; join returns once all are.
function test_joinable_queue_workers()
  local tasks, done = mp.JoinableQueue(), mp.Queue()
  local workers = {}
  for w = 1, 2 do
    workers[w] = mp.Process{target = function(tq, dq)
      while true do
        local item = tq:get(10)
        if item == nil then tq:task_done() break end
        time.sleep(0.001)
        dq:put(item * 2)
        tq:task_done()
      end
    end, args = {tasks, done}, daemon = true}
    workers[w]:start()
  end
  for i = 1, 50 do tasks:put(i) end
  assert.eq(tasks:join(20), true, "join after the workers finished")
  local sum = 0
  for _ = 1, 50 do sum = sum + done:get(5) end
  assert.eq(sum, 50 * 51)
  for _ = 1, 2 do tasks:put(nil) end
  assert.eq(tasks:join(10), true)
  for _, w in ipairs(workers) do w:join(10); assert.eq(w.exitcode, 0) end
end

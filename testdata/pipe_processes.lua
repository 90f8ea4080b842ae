-- Pipes between processes: a dialogue, end of file when the peer closes,
-- exits or is killed, ends kept open while a handle is on its way.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")

-- A dialogue with a child.
function test_dialogue()
  local parent_conn, child_conn = mp.Pipe()
  local p = mp.Process{target = function(conn)
    while true do
      local v = conn:recv()
      if v == "bye" then break end
      conn:send(v * v)
    end
    conn:send("done")
  end, args = {child_conn}}
  p:start()
  child_conn:close() -- the child holds its own copy
  for i = 1, 200 do
    parent_conn:send(i)
    assert.eq(parent_conn:recv(), i * i)
  end
  parent_conn:send("bye")
  assert.eq(parent_conn:recv(), "done")
  p:join(10)
  assert.eq(p.exitcode, 0)
  -- The child exited without closing its end: EOFError, not a hang.
  local t0 = time.monotonic()
  assert.errtype(function() parent_conn:recv() end, "EOFError")
  assert.between(time.monotonic() - t0, 0, 2, "EOFError after the peer exited")
end

-- A peer that closes explicitly, then lives on.
function test_peer_closes()
  local r, w = mp.Pipe(false)
  local closer = mp.Process{target = function(wc)
    wc:send("only message")
    wc:close()
    time.sleep(0.5)
  end, args = {w}}
  closer:start()
  w:close()
  assert.eq(r:recv(), "only message")
  local t0 = time.monotonic()
  assert.errtype(function() r:recv() end, "EOFError")
  assert.between(time.monotonic() - t0, 0, 0.45, "EOFError at close, not at exit")
  closer:join(10)
end

-- A peer killed while the reader waits: EOFError instead of hanging.
-- The peer is killed once it holds its end: one killed before it took the
-- end from its start message leaves that handle in flight, and the end
-- open until the handle expires (about ten seconds).
function test_peer_killed()
  local r2, w2 = mp.Pipe(false)
  local holds = mp.Event()
  local sleeper = mp.Process{target = function(wc, h) h:set(); time.sleep(30) end, args = {w2, holds}}
  sleeper:start()
  w2:close()
  assert.truthy(holds:wait(10), "the peer holds its end")
  assert.eq(r2:poll(0.1), false)
  local t0 = time.monotonic()
  sleeper:kill()
  assert.errtype(function() r2:recv() end, "EOFError")
  assert.between(time.monotonic() - t0, 0, 3, "EOFError after the peer was killed")
  sleeper:join(10)
  assert.eq(sleeper.exitcode, -9)
end

-- poll(math.huge) waits for the child's message.
function test_poll_waits_for_child()
  local a, b = mp.Pipe()
  local later = mp.Process{target = function(c) time.sleep(0.1); c:send("late") end, args = {b}}
  later:start()
  assert.eq(a:poll(math.huge), true)
  assert.eq(a:recv(), "late")
  later:join(10)
end

-- An end given to a child stays open while on its way, though this
-- process closes its own copy at once; through a queue as well.
function test_end_open_while_on_its_way()
  local r3, w3 = mp.Pipe(false)
  local q = mp.Queue()
  local relay = mp.Process{target = function(tq)
    local wc = tq:get(10)
    time.sleep(0.2)
    wc:send("relayed")
  end, args = {q}}
  relay:start()
  q:put(w3)
  w3:close()
  assert.eq(r3:recv(), "relayed")
  relay:join(10)
  assert.errtype(function() r3:recv() end, "EOFError")
end

-- Globals reach a child as fork would: the child holds both ends.
function test_ends_as_globals()
  GA, GB = mp.Pipe()
  local g = mp.Process{target = function() GB:send(GB == GB) end}
  g:start()
  assert.eq(GA:recv(), true)
  g:join(10)
end

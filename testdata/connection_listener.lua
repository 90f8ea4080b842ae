-- mp.connection's Listener and Client: Unix sockets and TCP, values and
-- bytes both ways, the authkey challenge, timeouts, a peer that dies,
-- what may not cross, and the errors. The client is a child here;
-- main_test.go's TestListener* run two unrelated programs.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")
local Listener, Client = mp.connection.Listener, mp.connection.Client

-- Whether a file (a socket, which io.open cannot open) is at path.
local function exists(path)
  return os.rename(path, path) ~= nil
end

-- Start a child running f(address, ...).
local function client(f, address, ...)
  local p = mp.Process{target = f, args = table.pack(address, ...)}
  p:start()
  return p
end

-- A dialogue over a Unix socket: values of every kind both ways, then
-- the end of file once the client has gone, and the file removed.
function test_unix_dialogue()
  local l = Listener()
  local path = l.address
  assert.truthy(exists(path), "the socket file exists")
  assert.eq(l.last_accepted, nil)
  assert.eq(tostring(l), string.format("<Listener AF_UNIX %q>", path))
  local p = client(function(address)
    local c = Client(address)
    for _ = 1, 3 do
      local v = c:recv(10)
      if type(v) == "function" then
        c:send(v(6))
      else
        c:send(v)
      end
    end
    c:close()
  end, path)
  local c = l:accept(10)
  assert.eq(l.last_accepted, "")
  assert.truthy(c.readable and c.writable and not c.closed)
  local nested = {1, "two", {3, {4}}, k = {x = true}, [2.5] = -0.5}
  c:send(nested)
  assert.eq(c:recv(10), nested)
  local n = 7
  c:send(function(x) return x * n end)
  assert.eq(c:recv(10), 42)
  local err = assert.errtype(function() l:accept(0) end, "TimeoutError")
  c:send(err)
  local back = c:recv(10)
  assert.eq(back.type, "TimeoutError")
  assert.eq(tostring(back), tostring(err), "an error table keeps its metatable")
  local t0 = time.monotonic()
  assert.errtype(function() c:recv(10) end, "EOFError")
  assert.between(time.monotonic() - t0, 0, 5, "EOFError once the client closed")
  assert.eq(c:poll(), true, "poll at end of file")
  p:join(10)
  assert.eq(p.exitcode, 0)
  c:close()
  assert.truthy(c.closed)
  assert.errtype(function() c:recv() end, "OSError")
  assert.errtype(function() c:send(1) end, "OSError")
  c:close() -- a second close does nothing
  l:close()
  assert.falsy(exists(path), "close removes the socket file")
  assert.errtype(function() l:accept(0) end, "OSError")
  l:close()
end

-- TCP with an authkey: the challenge both ways, last_accepted, a wrong
-- key failing on both sides while the listener goes on.
function test_tcp_authkey()
  local l = Listener("127.0.0.1:0", {authkey = "secret"})
  assert.truthy(l.address:match("^127%.0%.0%.1:%d+$"), "the port chosen: " .. l.address)
  assert.ne(l.address, "127.0.0.1:0")
  local q = mp.Queue()
  local p = client(function(address)
    local ok, err = pcall(Client, address, {authkey = "wrong"})
    q:put(ok and "connected" or err.type .. ": " .. err.message)
    local c = Client(address, nil, "secret") -- positional: address, family, authkey
    c:send("authenticated")
    c:close()
  end, l.address)
  local err = assert.errtype(function() l:accept(10) end, "AuthenticationError")
  assert.truthy(err.message:find("digest received was wrong", 1, true), err.message)
  local theirs = q:get(10)
  assert.truthy(theirs:find("^AuthenticationError: .*digest sent was rejected"), theirs)
  local c = l:accept(10)
  assert.truthy(l.last_accepted:match("^127%.0%.0%.1:%d+$"), "last_accepted " .. tostring(l.last_accepted))
  assert.eq(c:recv(10), "authenticated")
  p:join(10)
  assert.eq(p.exitcode, 0)
  l:close()
end

-- A TCP listener needs an authkey; so does a TCP client.
function test_tcp_needs_authkey()
  local err = assert.errtype(function() Listener("127.0.0.1:0") end, "ValueError")
  assert.truthy(err.message:find("needs an authkey", 1, true), err.message)
  assert.errtype(function() Listener{address = "127.0.0.1:0", authkey = ""} end, "ValueError")
  assert.errtype(function() Listener{family = "AF_INET"} end, "ValueError")
  assert.errtype(function() Client("127.0.0.1:1") end, "ValueError")
  -- A Unix socket may go without, and a family says what an address is.
  local dir = Listener()
  local path = dir.address:gsub("listener%.sock$", "a:1")
  local l = Listener(path, "AF_UNIX")
  assert.eq(l.address, path)
  local c = Client(path, {family = "AF_UNIX"})
  assert.truthy(l:accept(5))
  c:close()
  l:close()
  dir:close()
end

-- Arguments: options tables, their keys, families, backlog.
function test_arguments()
  local l = Listener{authkey = "k", backlog = 2}
  assert.eq(l.last_accepted, nil)
  l:close()
  assert.errtype(function() Listener(nil, {bogus = 1}) end, "TypeError")
  assert.errtype(function() Listener(nil, "AF_PIPE") end, "ValueError")
  assert.errtype(function() Listener(nil, nil, 0) end, "ValueError")
  assert.errtype(function() Listener(nil, nil, 1.5) end, "ValueError")
  assert.errtype(function() Listener(42) end, "TypeError")
  assert.errtype(function() Client() end, "TypeError")
  assert.errtype(function() Client("/x", {timeout = "soon"}) end, "TypeError")
  assert.errtype(function() Listener("/nonexistent-dir/s.sock") end, "FileNotFoundError")
  local taken = Listener()
  local err = assert.errtype(function() Listener(taken.address) end, "OSError")
  assert.truthy(err.message:find("in use", 1, true), err.message)
  taken:close()
end

-- Connecting where nothing listens.
function test_client_errors()
  local l = Listener()
  local path = l.address
  l:close()
  local err = assert.errtype(function() Client(path) end, "FileNotFoundError")
  assert.truthy(err.message:find(path, 1, true), err.message)
  local t = Listener("127.0.0.1:0", {authkey = "k"})
  local address = t.address
  t:close()
  assert.errtype(function() Client(address, {authkey = "k"}) end, "ConnectionRefusedError")
  -- A listener with no authkey never challenges: the client's timeout
  -- ends its wait.
  local quiet = Listener()
  local t0 = time.monotonic()
  assert.errtype(function() Client(quiet.address, {authkey = "k", timeout = 0.2}) end, "TimeoutError")
  assert.between(time.monotonic() - t0, 0.15, 5, "Client's timeout")
  quiet:close()
end

-- Timeouts of accept, recv, recv_bytes and poll.
function test_timeouts()
  local l = Listener()
  local t0 = time.monotonic()
  local err = assert.errtype(function() l:accept(0.2) end, "TimeoutError")
  assert.between(time.monotonic() - t0, 0.15, 5, "accept(0.2)")
  assert.truthy(err.message:find("0.2 seconds", 1, true), err.message)
  assert.errtype(function() l:accept(0) end, "TimeoutError")
  assert.errtype(function() l:accept{timeout = 0.01} end, "TimeoutError")
  local c = Client(l.address)
  local s = l:accept(0) -- already waiting
  assert.eq(s:poll(), false)
  t0 = time.monotonic()
  assert.eq(s:poll(0.1), false)
  assert.between(time.monotonic() - t0, 0.08, 5, "poll(0.1)")
  assert.errtype(function() s:recv(0.1) end, "TimeoutError")
  assert.errtype(function() s:recv_bytes{timeout = 0.05} end, "TimeoutError")
  c:send("late")
  assert.eq(s:poll(5), true)
  assert.eq(s:recv(0), "late")
  c:close()
  s:close()
  l:close()
end

-- send_bytes and recv_bytes, maxlength, and bytes that are no value.
function test_bytes()
  local l = Listener()
  local c = Client(l.address)
  local s = l:accept(5)
  c:send_bytes("")
  c:send_bytes(string.rep("x", 100000))
  c:send_bytes("\0\1\2")
  assert.eq(s:recv_bytes(), "")
  assert.eq(#s:recv_bytes(100000), 100000)
  assert.eq(s:recv_bytes{maxlength = 3, timeout = 5}, "\0\1\2")
  c:send("a value")
  assert.truthy(#s:recv_bytes() > 0, "a value's encoding")
  c:send_bytes("\255 not an encoded value")
  assert.errtype(function() s:recv() end, "SerializationError")
  c:send_bytes("four")
  local err = assert.errtype(function() s:recv_bytes(3) end, "OSError")
  assert.truthy(err.message:find("bad message length", 1, true), err.message)
  -- Nothing more can be received; sending still works, as in Python.
  assert.errtype(function() s:recv(1) end, "OSError")
  s:send("still")
  assert.eq(c:recv(5), "still")
  assert.errtype(function() s:recv_bytes(-1) end, "ValueError")
  assert.errtype(function() c:send_bytes({}) end, "TypeError")
  assert.errtype(function() c:send_bytes("s", 1) end, "TypeError")
  c:close()
  s:close()
  l:close()
end

-- procsh's shared objects stay in their tree: refused on the way out,
-- wherever they hide.
function test_shared_objects_refused()
  local l = Listener()
  local c = Client(l.address)
  local s = l:accept(5)
  local lock = mp.Lock()
  local err = assert.errtype(function() c:send(lock) end, "SerializationError")
  assert.truthy(err.message:find("cannot send a Lock (item)", 1, true), err.message)
  err = assert.errtype(function() c:send({data = {q = mp.Queue()}}) end, "SerializationError")
  assert.truthy(err.message:find("Queue (item.data.q)", 1, true), err.message)
  err = assert.errtype(function() c:send(function() return lock end) end, "SerializationError")
  assert.truthy(err.message:find("upvalue 'lock'", 1, true), err.message)
  local r, w = mp.Pipe()
  assert.errtype(function() c:send(setmetatable({}, {pipe = r})) end, "SerializationError")
  assert.errtype(function() c:send(mp.current_process()) end, "SerializationError")
  assert.errtype(function() c:send({s}) end, "SerializationError") -- a socket connection neither
  -- The refusals sent nothing: the next value is the first to arrive.
  c:send({ok = true, f = print, m = math})
  local v = s:recv(5)
  assert.eq(v.ok, true)
  assert.eq(v.f, print)
  assert.eq(v.m, math)
  assert.eq(s:poll(), false)
  -- A peer that sends one anyway (here as raw bytes: a message of no
  -- chunks holding a Lock's handle) has its message refused.
  c:send_bytes("\0\13\4Lock\0")
  err = assert.errtype(function() s:recv(5) end, "SerializationError")
  assert.truthy(err.message:find("got a Lock from another program", 1, true), err.message)
  -- A Pipe's own messages still carry handles.
  w:send(lock)
  assert.eq(tostring(r:recv(5)), tostring(lock))
  r:close()
  w:close()
  c:close()
  s:close()
  l:close()
end

-- A client killed in the middle of a conversation: recv raises
-- EOFError instead of waiting.
function test_peer_killed()
  local l = Listener()
  local p = client(function(address)
    local c = Client(address)
    c:send("hello")
    time.sleep(30)
  end, l.address)
  local c = l:accept(10)
  assert.eq(c:recv(10), "hello")
  local t0 = time.monotonic()
  p:kill()
  assert.errtype(function() c:recv(10) end, "EOFError")
  assert.between(time.monotonic() - t0, 0, 5, "EOFError after the kill")
  p:join(10)
  assert.eq(p.exitcode, -9)
  -- Sending to the dead peer fails too, once the system knows.
  local ok, err
  for _ = 1, 100 do
    ok, err = pcall(c.send, c, string.rep("x", 65536))
    if not ok then break end
  end
  assert.falsy(ok, "send to a dead peer")
  assert.eq(err.type, "OSError")
  l:close()
end

-- mp.connection.wait takes a socket connection.
function test_wait()
  local l = Listener()
  local c = Client(l.address)
  local s = l:accept(5)
  assert.eq(mp.connection.wait({s}, 0.05), {})
  local p = client(function() time.sleep(1) end, "unused")
  local t0 = time.monotonic()
  c:send("ping")
  local ready = mp.connection.wait({p.sentinel, s}, 10)
  assert.eq(#ready, 1)
  assert.truthy(ready[1] == s)
  assert.eq(s:recv(0), "ping")
  c:close()
  assert.truthy(mp.connection.wait({s}, 10)[1] == s, "end of file is ready")
  assert.between(time.monotonic() - t0, 0, 5)
  s:close()
  assert.errtype(function() mp.connection.wait({s}, 0) end, "OSError")
  p:join(10)
  l:close()
end

-- mp.with closes listeners and connections, and the repr says so.
function test_with()
  local path
  local l = Listener()
  mp.with(l, function(listener)
    path = listener.address
    local c = Client(path)
    mp.with(c, function() end)
    assert.truthy(c.closed)
    assert.truthy(tostring(c):find("closed>$"), tostring(c))
  end)
  assert.truthy(tostring(l):find("closed>$"), tostring(l))
  assert.falsy(exists(path))
end

-- The end of the program closes a listener left open and removes its
-- file, as Python's does.
function test_exit_removes_socket()
  local path = Listener().address
  local q = mp.Queue()
  local p = client(function(out)
    out:put(Listener().address)
  end, q)
  local theirs = q:get(10)
  p:join(10)
  assert.eq(p.exitcode, 0)
  assert.falsy(exists(theirs), "the child's socket file went with it")
  assert.truthy(exists(path))
end

-- Run as a script of its own (procsh testdata/connection_listener.lua)
-- rather than one test at a time by testdata/lib/runtest.lua, it runs
-- every test.
if select("#", ...) == 0 then
  local names = {}
  for name, f in pairs(_G) do
    if type(f) == "function" and name:match("^test_") then names[#names + 1] = name end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    _G[name]()
    print(name .. " ok")
  end
end

-- Limits: files, exec and net, what a process may touch. files (Landlock)
-- restricts the files it may read and write to the folders given;
-- exec = false removes os.execute and io.popen and forbids running other
-- programs; net = false refuses network sockets (seccomp). The process
-- still starts children of its own: procsh stays executable.
local mp = require("multiprocessing")
local assert = require("assert")

local supported = require("limits_support")

-- tempDir makes a fresh folder, and remove deletes it.
local function tempDir()
  local p = io.popen("mktemp -d")
  local dir = p:read("*l")
  p:close()
  return dir
end
local function remove(dir) os.execute("rm -rf '" .. dir .. "'") end

-- must is Lua's assert (the name is the assertion module's here).
local function must(v, err)
  if not v then error(err, 2) end
  return v
end

-- runIn runs fn in a child under limits and returns what it returned.
local function runIn(limits, fn)
  local q = mp.Queue()
  local p = mp.Process{target = function() q:put({fn()}) end, limits = limits}
  p:start()
  local got = q:get(30)
  p:join(10)
  assert.eq(p.exitcode, 0, "the child's exit code")
  return got
end

-- files = {write = {dir}}: /etc/hostname cannot be read, dir can be
-- written and read, and a file outside it cannot be written.
function test_files()
  if not supported("files") then return end
  local dir, outside = tempDir(), tempDir()
  local got = runIn({files = {write = {dir}}}, function()
    local f, err = io.open("/etc/hostname")
    local g = must(io.open(dir .. "/note.txt", "w"))
    g:write("written inside")
    g:close()
    local r = must(io.open(dir .. "/note.txt"))
    local text = r:read("*a")
    r:close()
    local h, err2 = io.open(outside .. "/note.txt", "w")
    return f, err, text, h, err2
  end)
  remove(dir)
  remove(outside)
  assert.eq(got[1], nil)
  assert.eq(got[2], "open /etc/hostname: permission denied")
  assert.eq(got[3], "written inside")
  assert.eq(got[4], nil)
  assert.eq(got[5], "open " .. outside .. "/note.txt: permission denied")
end

-- files = {read = {dir}}: dir can be read, not written.
function test_files_read_only()
  if not supported("files") then return end
  local dir = tempDir()
  local f = must(io.open(dir .. "/data.txt", "w"))
  f:write("data")
  f:close()
  local got = runIn({files = {read = {dir}}}, function()
    local r = must(io.open(dir .. "/data.txt"))
    local text = r:read("*a")
    r:close()
    local _, err = io.open(dir .. "/new.txt", "w")
    return text, err
  end)
  remove(dir)
  assert.eq(got, {"data", "open " .. dir .. "/new.txt: permission denied"})
end

-- files = false: nothing can be opened; children still start.
function test_files_false()
  if not supported("files") then return end
  local got = runIn({files = false}, function()
    local _, err = io.open("/etc/hostname")
    local c = mp.Process{target = function() end}
    c:start()
    c:join(10)
    return err, c.exitcode
  end)
  assert.eq(got, {"open /etc/hostname: permission denied", 0})
end

-- exec = false: os.execute and io.popen raise PermissionError, even
-- through a reference taken before the child started.
function test_exec()
  local execute = os.execute
  local got = runIn({exec = false, strict = false}, function()
    local _, e1 = pcall(os.execute, "true")
    local _, e2 = pcall(io.popen, "true")
    local _, e3 = pcall(execute, "true")
    return e1.type, e1.limit, e1.message, e2.type, e3.type
  end)
  assert.eq(got, {"PermissionError", "exec", "os.execute: this process may not run programs (limits.exec = false)", "PermissionError", "PermissionError"})
end

-- net = false: a TCP Listener is refused with PermissionError; a Unix
-- socket still works.
function test_net()
  if not supported("net") then return end
  local dir = tempDir()
  local got = runIn({net = false}, function()
    local _, e = pcall(mp.connection.Listener, "127.0.0.1:0", nil, nil, "key")
    local l = mp.connection.Listener(dir .. "/s")
    l:close()
    return e.type, e.limit
  end)
  remove(dir)
  assert.eq(got, {"PermissionError", "net"})
end

-- Limits: how they are given. Each limit is checked when the Process or
-- Pool is made, and mp.sandbox_support() says what this kernel can
-- enforce.
local mp = require("multiprocessing")
local assert = require("assert")

local function noop() end

-- sandbox_support: the kernel's features and each limit by name.
function test_sandbox_support()
  local s = mp.sandbox_support()
  assert.eq(type(s.landlock), "number")
  assert.eq(type(s.seccomp), "boolean")
  assert.eq(s.rlimits, true)
  assert.eq(s.wall, true)
  for _, name in ipairs({"cpu", "memory", "files", "exec", "net"}) do
    assert.eq(type(s[name]), "boolean", name)
    assert.eq(s[name], s.missing[name] == nil, name .. " and missing." .. name)
  end
  assert.eq(s.files, s.landlock >= 1)
  assert.eq(s.net, s.seccomp)
end

-- Wrong limits are refused when the Process is made, naming the key.
function test_process_errors()
  local function made(limits) return function() mp.Process{target = noop, limits = limits} end end
  assert.errtype(function() mp.Process{target = noop, limits = "wall"} end, "TypeError")
  local e = assert.errtype(made({wal = 1}), "TypeError")
  assert.truthy(e.message:find("unknown option 'wal' %(did you mean 'wall'%?%)"), e.message)
  assert.errtype(made({wall = 0}), "ValueError")
  assert.errtype(made({wall = -1}), "ValueError")
  assert.errtype(made({cpu = "1"}), "TypeError")
  e = assert.errtype(made({memory = "lots"}), "ValueError")
  assert.truthy(e.message:find("^Process: limits.memory: size: "), e.message)
  assert.errtype(made({memory = 1000}), "ValueError")
  assert.errtype(made({memory = true}), "TypeError")
  assert.errtype(made({files = "/tmp"}), "TypeError")
  assert.errtype(made({files = {read = "/tmp"}}), "TypeError")
  assert.errtype(made({files = {reed = {"/tmp"}}}), "TypeError")
  e = assert.errtype(made({files = {read = {"/no/such/folder"}}}), "FileNotFoundError")
  assert.truthy(e.message:find('limits.files.read%[1%]: "/no/such/folder" does not exist'), e.message)
  assert.errtype(made({exec = "no"}), "TypeError")
  assert.errtype(made({strict = 0}), "TypeError")
  assert.errtype(function() mp.Process{target = noop, safe = "yes"} end, "TypeError")
  -- what is right is accepted
  mp.Process{target = noop, limits = {wall = 1, cpu = 0.5, memory = "64M", files = {read = {"/tmp"}, write = {}}, exec = false, net = false, strict = false}, safe = true}
  mp.Process{target = noop, limits = {memory = 2^30, files = false, exec = true, net = true}}
end

-- A pool's limits, and a call's: files, exec and net are the whole
-- pool's, since a worker cannot be freed of them after a task.
function test_pool_errors()
  assert.errtype(function() mp.Pool{processes = 1, limits = {wall = "1"}} end, "TypeError")
  local pool = mp.Pool{processes = 1, limits = {wall = 5}}
  local e = assert.errtype(function() pool:apply(noop, {limits = {files = false}}) end, "ValueError")
  assert.truthy(e.message:find("files applies to whole processes"), e.message)
  assert.errtype(function() pool:map(noop, {1}, {limits = {net = false}}) end, "ValueError")
  assert.errtype(function() pool:map(noop, {1}, {limits = {wall = 0}}) end, "ValueError")
  assert.errtype(function() pool:apply_async(noop, {limits = {cpu = "x"}}) end, "TypeError")
  assert.eq(pool:map(function(x) return x + 1 end, {1, 2}, {limits = {wall = 2, cpu = 2, memory = "100M"}}), {2, 3})
  pool:close()
  assert.eq(pool:join(10), true)
end

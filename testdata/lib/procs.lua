-- procs: starting and checking the child processes of procsh's Lua tests.
--   procs.start(f, ...)     start a Process running f(...), return it
--   procs.finish(p, what)   join p (30 s at most) and assert it exited 0
local assert = require("assert")
local mp = require("multiprocessing")

local M = {}

function M.start(f, ...)
  local p = mp.Process{target = f, args = table.pack(...)}
  p:start()
  return p
end

function M.finish(p, what)
  p:join(30)
  assert.eq(p.exitcode, 0, what)
end

return M

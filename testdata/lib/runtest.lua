-- runtest: runs one test function of a test script, in this process.
--
--   procsh testdata/lib/runtest.lua SCRIPT TEST
--
-- SCRIPT is loaded and called with TEST as its argument: its top level
-- defines the test functions (globals named test_<what>) and what they
-- share. Then the function TEST is called with no arguments. If it
-- returns, "TEST ok" is printed and the run ends as any script's does; if
-- it raises, the run ends with exit status 1 and the error, with its
-- traceback, on stderr. TestScripts (main_test.go) runs each test this
-- way, in a process of its own.
local script, name = ...
if type(script) ~= "string" or type(name) ~= "string" then
  error("usage: procsh testdata/lib/runtest.lua SCRIPT TEST", 0)
end
local chunk, err = loadfile(script)
if not chunk then error(err, 0) end
chunk(name)
if type(rawget(_G, name)) ~= "function" then
  error(script .. ": got no function " .. name .. ", want one defined as 'function " .. name .. "()'", 0)
end
_G[name]()
print(name .. " ok")

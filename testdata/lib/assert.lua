-- assert: the small assertion module of procsh's Lua tests.
--
-- A test script is testdata/<script>.lua. Its top level requires the
-- modules it uses and defines what its tests share, as locals; each test
-- is a global function whose definition starts a line:
--
--   function test_<what>()
--     local q = mp.Queue()
--     q:put(1)
--     assert.eq(q:get(), 1, "the item put")
--   end
--
-- TestScripts (main_test.go) runs each as the subtest
-- TestScripts/<script>/test_<what>, in a procsh process of its own
-- (testdata/lib/runtest.lua loads the script and calls the one function):
--
--   go test -run 'TestScripts/queue_basic/test_put_get' .
--   LUA_PATH='testdata/lib/?.lua;;' procsh testdata/lib/runtest.lua testdata/queue_basic.lua test_put_get
--
-- The tests of one script may run at the same time, each in its own
-- process: a test makes what it uses and does not count on running alone.
-- A test passes when its function returns and no process it started is
-- left running. A failed assertion raises: it ends that test alone, and
-- its message names the line of the assertion. Children a test starts get
-- a copy of the script's globals and upvalues, as fork would give them.
-- A line "-- expect stdout: TEXT" or "-- expect stderr: TEXT" inside a
-- test function says that the test's output must hold TEXT. runtest calls
-- the script with the test's name as its argument; a script that is also
-- run whole (procsh testdata/<script>.lua) ends with
-- "if select("#", ...) == 0 then" and calls of all its tests.
--
-- The assertions:
--   assert.eq(got, want [, what])      got == want (tables compared deeply)
--   assert.ne(got, other [, what])
--   assert.truthy(v [, what]) / assert.falsy(v [, what])
--   assert.fails(fn, pattern)          fn raises an error whose text matches pattern; returns the error
--   assert.errtype(fn, type)           fn raises a procsh error of that type; returns it
--   assert.between(x, lo, hi [, what])
local M = {}

local function show(v, seen)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  seen = seen or {}
  if seen[v] then return "<cycle>" end
  seen[v] = true
  local parts, keys = {}, {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do parts[#parts + 1] = "[" .. show(k, seen) .. "]=" .. show(v[k], seen) end
  return "{" .. table.concat(parts, ", ") .. "}"
end
M.show = show

local function deepeq(a, b, seen)
  if a == b then return true end
  if a ~= a and b ~= b then return true end -- NaN
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do if not deepeq(v, b[k], seen) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
M.deepeq = deepeq

local function fail(msg, what)
  error((what and (what .. ": ") or "") .. msg, 3)
end

function M.eq(got, want, what)
  if not deepeq(got, want) then fail("got " .. show(got) .. ", want " .. show(want), what) end
end

function M.ne(got, other, what)
  if deepeq(got, other) then fail("got " .. show(got) .. ", want anything else", what) end
end

function M.truthy(v, what) if not v then fail("got " .. show(v) .. ", want a true value", what) end end
function M.falsy(v, what) if v then fail("got " .. show(v) .. ", want a false value", what) end end

function M.between(x, lo, hi, what)
  if type(x) ~= "number" or x < lo or x > hi then
    fail("got " .. show(x) .. ", want between " .. lo .. " and " .. hi, what)
  end
end

function M.fails(fn, pattern)
  local ok, err = pcall(fn)
  if ok then fail("no error, want one matching " .. show(pattern)) end
  if pattern and not string.find(tostring(err), pattern) then
    fail("error " .. show(tostring(err)) .. " does not match " .. show(pattern))
  end
  return err
end

function M.errtype(fn, typ)
  local ok, err = pcall(fn)
  if ok then fail("no error, want a " .. typ) end
  if type(err) ~= "table" or err.type ~= typ then
    fail("error " .. show(tostring(err)) .. " is not a " .. typ)
  end
  return err
end

return M

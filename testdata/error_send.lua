-- An error table caught with pcall crosses to another process like any
-- table: on a Queue and as a child's argument, it keeps its fields and
-- still prints as "Type: message".
local mp = require("multiprocessing")
local assert = require("assert")

-- emptyError gives the error of a get from an empty queue, caught.
local function emptyError()
  local q = mp.Queue()
  local ok, err = pcall(function() q:get(false) end)
  assert.eq(ok, false)
  assert.eq(err.type, "Empty")
  return err
end

function test_through_a_queue()
  local q = mp.Queue()
  q:put(emptyError())
  local got = q:get(5)
  assert.eq(got.type, "Empty")
  assert.truthy(tostring(got):match("^Empty"), "prints as an error: " .. tostring(got))
end

function test_as_a_child_argument()
  local q = mp.Queue()
  local p = mp.Process{target = function(e, out)
    out:put(tostring(e))
  end, args = {emptyError(), q}}
  p:start()
  p:join(10)
  assert.eq(p.exitcode, 0)
  assert.truthy(q:get(5):match("^Empty"), "the child prints it as an error")
end

-- Lua 5.1 facts that gopher-lua got wrong and procsh corrects.
local assert = require("assert")

function test_math_huge_is_infinity()
  assert.eq(math.huge, 1/0, "math.huge is infinity")
  assert.eq(-math.huge, -1/0)
  assert.truthy(math.huge > 1.7976931348623157e308)
end

local assert = require("assert")
-- Lua 5.1 facts that gopher-lua got wrong and procsh corrects.
assert.eq(math.huge, 1/0, "math.huge is infinity")
assert.eq(-math.huge, -1/0)
assert.truthy(math.huge > 1.7976931348623157e308)

-- The time module: time, monotonic, sleep, strftime with Python's %f.
local time = require("time")
local assert = require("assert")

function test_time_monotonic_sleep()
  local t = time.time()
  assert.truthy(t > 1.7e9 and t % 1 ~= nil, "seconds since the epoch")
  local m0 = time.monotonic()
  time.sleep(0.05)
  assert.between(time.monotonic() - m0, 0.04, 2, "sleep(0.05)")
  time.sleep(0)
  assert.fails(function() time.sleep(-1) end, "non%-negative")
  assert.fails(function() time.sleep("x") end, "number expected")
end

-- 2021-03-04 05:06:07.089 UTC, shown in local time: check the fields
-- that do not depend on the zone, and %f exactly.
function test_strftime()
  local s = time.strftime("%M:%S.%f|%%|%y", 1614834367.089)
  assert.eq(s:sub(1, 13), "06:07.089000|", "minutes, seconds, microseconds")
  assert.eq(s:sub(14), "%|21")
  assert.truthy(time.strftime("%Y-%m-%d %H:%M:%S"):match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$"))
  assert.eq(#time.strftime("%f"), 6)
end

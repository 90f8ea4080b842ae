-- limits_support: skipping a limits test where the kernel or the build
-- cannot enforce its limit.
--   supported(limit)   true when mp.sandbox_support() says limit is
--                      enforced here; otherwise prints why the test is
--                      skipped and gives false
local mp = require("multiprocessing")

return function(limit)
  local s = mp.sandbox_support()
  if s[limit] then return true end
  print("skipped: limits." .. limit .. " cannot be enforced here: " .. s.missing[limit])
  return false
end

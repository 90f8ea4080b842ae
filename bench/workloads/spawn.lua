-- spawn: 50 × start+join of a process with an empty target.
local mp = require("multiprocessing")

local function noop() end

return function()
  for _ = 1, 50 do
    local p = mp.Process{target = noop}
    p:start()
    p:join()
  end
end

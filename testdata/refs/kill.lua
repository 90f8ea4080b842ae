-- A child killed by SIGKILL while holding references releases them (run
-- in a 64 MiB arena): its 40 MB Array is freed once the parent joins it,
-- every round.
local mp = require("multiprocessing")
local assert = require("assert")

local shared = mp.Array("i", 1000)
for round = 1, 4 do
  local ready = mp.Event()
  local p = mp.Process{target = function(ev, sh)
    local big = mp.Array("d", 5000000, false) -- 40 MB
    big[1] = 1
    local again = sh -- a transferred reference, held here too
    ev:set()
    while true do again[1] = big[1] end
  end, args = {ready, shared}}
  p:start()
  assert.truthy(ready:wait(20), "round " .. round .. ": the child made its Array")
  p:kill()
  p:join(20)
  assert.eq(p.exitcode, -9)
  ready:close()
end
shared[2] = 5
assert.eq(shared[2], 5)
local big = mp.Array("d", 5000000, false)
big:close()
print("kill ok")

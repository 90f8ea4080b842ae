-- An unbounded queue takes a producer's whole output before any consumer
-- runs (Python's put on such a queue never blocks): 200,000 items here.
local mp = require("multiprocessing")
local assert = require("assert")

function test_whole_output_before_consumer()
  local q = mp.Queue()
  for i = 1, 200000 do q:put(i) end
  assert.eq(q:qsize(), 200000)
  local p = mp.Process{target = function()
    local s = 0
    for i = 1, 200000 do
      local v = q:get(5)
      if v ~= i then os.exit(2) end
      s = s + v
    end
    if s ~= 200000 * 200001 / 2 then os.exit(3) end
  end}
  p:start()
  p:join(30)
  assert.eq(p.exitcode, 0, "consumer read every item in order")
end

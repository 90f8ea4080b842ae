-- queue: 100,000 small items put by the parent into a Queue, got by one
-- child (bench.py's w_queue).
local mp = require("multiprocessing")

local function consume(q, n)
  for _ = 1, n do
    q:get()
  end
end

return function()
  local q = mp.Queue()
  local c = mp.Process{target = consume, args = {q, 100000}}
  c:start()
  for i = 0, 100000 - 1 do
    q:put(i)
  end
  c:join()
end

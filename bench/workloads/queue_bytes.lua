-- queue_bytes: messages of n bytes (1 KiB unless a size is given) put by
-- the parent into a Queue, got by one child: 50,000 of them, fewer when
-- they are large (256 MiB in all, at least 200), as bench.py's
-- w_queue_bytes.
local mp = require("multiprocessing")

local function consume(q, count)
  for _ = 1, count do
    q:get()
  end
end

return function(size)
  local n = size or 1024
  local count = math.max(200, math.min(50000, math.floor(256 * 2 ^ 20 / n)))
  local msg = string.rep("x", n)
  local q = mp.Queue()
  local c = mp.Process{target = consume, args = {q, count}}
  c:start()
  for _ = 1, count do
    q:put(msg)
  end
  c:join()
end

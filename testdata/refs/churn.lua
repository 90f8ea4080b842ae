-- Objects closed or dropped give their memory back (run in a 64 MiB
-- arena): an unbounded Queue keeps a 16 MiB ring, a Pipe two 1 MiB rings.
local mp = require("multiprocessing")
local assert = require("assert")

for i = 1, 300 do
  local q = mp.Queue()
  q:put(i)
  assert.eq(q:get(), i)
  q:close()
end

-- Dropped, not closed: the garbage collector releases them.
for i = 1, 5000 do
  local a, b = mp.Pipe()
  a:send(i)
  assert.eq(b:recv(), i)
  if i % 10 == 0 then collectgarbage() end
end

for i = 1, 20000 do
  local l = mp.Lock()
  l:acquire()
  l:release()
  if i % 2 == 0 then l:close() end
  if i % 1000 == 0 then collectgarbage() end
end
print("churn ok")

-- pool.lua: Pool(4):map squares ten numbers in four worker processes.
-- (Python: process_pool.py)
local mp = require("multiprocessing")

local function do_something(data)
  return data * data
end

local inputs = {}
for i = 0, 9 do inputs[#inputs + 1] = i end
local pool = mp.Pool{processes = 4}
local pool_outputs = pool:map(do_something, inputs)
pool:close()
pool:join()
print("Pool: {" .. table.concat(pool_outputs, ", ") .. "}")

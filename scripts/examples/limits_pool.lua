-- A Pool over inputs with limits, for work you do not trust: each task
-- may take a second of wall-clock time and 100 MB of memory, and write
-- only in the output folder. One input runs away, one eats memory, one
-- tries to write outside the folder; each fails alone, with the error
-- that says why, and the rest complete.
local mp = require("multiprocessing")

-- The output folder: a fresh one, removed at the end.
local p = io.popen("mktemp -d")
local folder = p:read("*l")
p:close()

local function work(input)
  if input == "runaway" then
    while true do end                              -- never returns
  elseif input == "hog" then
    local t = {}
    while true do t[#t + 1] = string.rep(input, 1e6) end -- never stops growing
  elseif input == "escape" then
    local f, err = io.open("/tmp/escaped.txt", "w") -- outside the folder
    if not f then error(err, 0) end
    f:close()
  end
  local f = assert(io.open(folder .. "/" .. input .. ".txt", "w"))
  f:write(input:upper())
  f:close()
  return input:upper()
end

local inputs = {"alpha", "runaway", "beta", "hog", "gamma", "escape", "delta"}
local limits = {wall = 1, memory = "100M", files = {write = {folder}}}

mp.with(mp.Pool{processes = 2, limits = limits}, function(pool)
  local results = {}
  for i, input in ipairs(inputs) do
    results[i] = pool:apply_async(work, {input})
  end
  for i, r in ipairs(results) do
    local ok, value = pcall(r.get, r, 30)
    if ok then
      print(inputs[i], "ok", value)
    elseif value.type == "RemoteError" then
      print(inputs[i], value.type, value.value)
    else
      print(inputs[i], value.type, "limit: " .. value.limit)
    end
  end
end)

local listing = io.popen("ls " .. folder)
print("written:", (listing:read("*a"):gsub("\n$", ""):gsub("\n", " ")))
listing:close()
os.execute("rm -rf " .. folder)

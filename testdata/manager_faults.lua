-- Processes killed (SIGKILL) or terminated (SIGTERM) in the middle of
-- changing a Manager's dict and list: the containers stay whole and
-- usable.
local mp = require("multiprocessing")
local time = require("time")
local assert = require("assert")
local procs = require("procs")

local function churn(d, l, id)
  local n = 0
  while true do
    n = n + 1
    local k = "k" .. n % 50
    d[k] = {who = id, n = n, pad = string.rep("x", n % 300)}
    if n % 3 == 0 then d[k] = nil end
    if n % 7 == 0 then d:update{[k .. "u"] = n, [k .. "v"] = {n}} end
    l:append(id .. ":" .. n)
    if n % 5 == 0 then l:insert(1, id .. ":-" .. n) end
    if l:len() > 200 then l:pop(1) end
  end
end

function test_killed_mid_operation()
  local m = mp.Manager()
  local d, l = m:dict(), m:list()
  for round = 1, 8 do
    local ps = {}
    for i = 1, 3 do ps[i] = procs.start(churn, d, l, round .. "." .. i) end
    time.sleep(0.05 + math.random() * 0.15)
    for i, p in ipairs(ps) do
      if (round + i) % 2 == 0 then p:kill() else p:terminate() end
    end
    for _, p in ipairs(ps) do
      p:join(10)
      assert.truthy(p.exitcode == -9 or p.exitcode == -15, "exit code " .. tostring(p.exitcode))
    end
    -- Whole: the length is the number of entries, every value reads back.
    local keys = d:keys()
    assert.eq(#keys, #d, "round " .. round)
    local copy = d:copy()
    for _, k in ipairs(keys) do
      local v = copy[k]
      if type(v) == "table" and v.pad then
        assert.eq(#v.pad, v.n % 300, "round " .. round .. " key " .. k)
      else
        assert.truthy(type(v) == "number" or type(v) == "table", "round " .. round .. " key " .. k)
      end
    end
    local items = l:copy()
    assert.eq(#items, #l, "round " .. round)
    local seen = {}
    for _, v in ipairs(items) do
      assert.eq(seen[v], nil, "round " .. round .. ": item " .. v .. " twice")
      seen[v] = true
    end
    -- Usable.
    d.parent = round
    assert.eq(d:pop("parent"), round)
    l:append("parent")
    assert.eq(l:pop(), "parent")
  end
  m:shutdown()
end

-- Run whole (procsh testdata/manager_faults.lua), the script runs every test;
-- the test runner (testdata/lib/runtest.lua) names one and runs that.
if select("#", ...) == 0 then
  for _, test in ipairs{test_killed_mid_operation} do test() end
end

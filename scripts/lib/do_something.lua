-- The common workload of the six scripts: append `count` random numbers
-- to `out_list`.
local function do_something(count, out_list)
  for _ = 1, count do
    out_list[#out_list + 1] = math.random()
  end
end

return do_something

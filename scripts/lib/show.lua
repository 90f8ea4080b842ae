-- show(list): a list of numbers as Lua writes a table constructor, with
-- each number exact: {0.5, 0.25}.
local function show(list)
  local parts = {}
  for i, v in ipairs(list) do
    parts[i] = string.format("%.17g", v)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

return show

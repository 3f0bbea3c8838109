-- Reads and writes for one user: four list reads, then one create.
local auth = "Bearer " .. os.getenv("TOKEN")
local n = 0

request = function()
  n = n + 1
  if n % 5 == 0 then
    return wrk.format("POST", "/api/todos",
      { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
      '{"content":"under load ' .. n .. '"}')
  end
  return wrk.format("GET", "/api/todos?limit=5", { ["Authorization"] = auth })
end

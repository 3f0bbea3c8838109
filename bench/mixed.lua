-- Case E: one user, 90% reads of the first page, 10% creates.
local auth = "Bearer " .. os.getenv("TOKEN")
local n = 0

function request()
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("POST", "/api/todos",
      { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
      '{"content":"mixed ' .. n .. '"}')
  end
  return wrk.format("GET", "/api/todos", { ["Authorization"] = auth })
end

-- Case E: one user reading the first page, with a create every WRITE_EVERY
-- requests (10 in the benchmark: 90% reads; the reload test uses 5).
local auth = "Bearer " .. os.getenv("TOKEN")
local every = tonumber(os.getenv("WRITE_EVERY") or "10")
local n = 0

function request()
  n = n + 1
  if n % every == 0 then
    return wrk.format("POST", "/api/todos",
      { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
      '{"content":"mixed ' .. n .. '"}')
  end
  return wrk.format("GET", "/api/todos", { ["Authorization"] = auth })
end

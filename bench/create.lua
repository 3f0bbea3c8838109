-- Case D: creates, each with unique content, counting the acknowledged ones.
local auth = "Bearer " .. os.getenv("TOKEN")
local run = os.getenv("RUN_ID")
local threads = {}
-- Globals, not locals: done() reads each thread's count with thread:get().
n, acked = 0, 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function request()
  n = n + 1
  return wrk.format("POST", "/api/todos",
    { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
    '{"content":"bench-' .. run .. '-' .. id .. '-' .. n .. '"}')
end

function response(status)
  if status == 201 then acked = acked + 1 end
end

function done()
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("acked") end
  io.write("bench:acked=" .. total .. "\n")
end

-- POST /time-entries, counting 201s per thread (printed by `done`).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  created = 0
  other = 0
  n = 0
end
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["X-Workspace-Id"] = os.getenv("WS")
wrk.headers["Content-Type"] = "application/json"
function request()
  n = n + 1
  local body = string.format('{"project_id":"%s","start":"2026-03-%02dT%02d:%02d:00Z","duration_seconds":900,"description":"bench %d"}',
    os.getenv("PROJECT"), 1 + n % 28, n % 24, n % 60, n)
  return wrk.format(nil, "/api/v1/time-entries", nil, body)
end
function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("created"); o = o + t:get("other") end
  io.write(string.format("CREATED %d OTHER %d\n", c, o))
end

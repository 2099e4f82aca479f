-- A team of 20 members (tokens one per line in $TOKENS_FILE): each request picks a member and
-- one of: GET /me, GET /projects, POST /time-entries, GET /time-entries?limit=10.
local threads = {}
function setup(thread) table.insert(threads, thread) end
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do table.insert(tokens, line) end
function init(args)
  created = 0
  other = 0
  n = 0
  math.randomseed(os.time() + #tokens)
end
function request()
  n = n + 1
  local t = tokens[math.random(#tokens)]
  local h = { ["Authorization"] = "Bearer " .. t, ["X-Workspace-Id"] = os.getenv("WS"), ["Content-Type"] = "application/json" }
  local op = n % 4
  if op == 0 then return wrk.format("GET", "/api/v1/me", h) end
  if op == 1 then return wrk.format("GET", "/api/v1/projects", h) end
  if op == 2 then return wrk.format("GET", "/api/v1/time-entries?limit=10", h) end
  local body = string.format('{"project_id":"%s","start":"2026-04-%02dT%02d:%02d:00Z","duration_seconds":600}',
    os.getenv("PROJECT"), 1 + n % 28, n % 24, n % 60)
  return wrk.format("POST", "/api/v1/time-entries", h, body)
end
function response(status, headers, body)
  if status == 201 then created = created + 1 elseif status >= 300 then other = other + 1 end
end
function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("created"); o = o + t:get("other") end
  io.write(string.format("CREATED %d OTHER %d\n", c, o))
end

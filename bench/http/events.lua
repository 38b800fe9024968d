-- wrk script: POST batches of BATCH NDJSON events with ids unique per thread and request.
-- Env: KEY (API key), BATCH (events per request, default 1000).
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  n = 0
  batch = tonumber(os.getenv("BATCH") or "1000")
  headers = {["Content-Type"] = "application/x-ndjson", ["Authorization"] = "Bearer " .. os.getenv("KEY")}
end

function request()
  n = n + 1
  local lines = {}
  for k = 1, batch do
    lines[k] = string.format(
      '{"id":"w%d-%d-%d","type":"message.received","at":"2026-10-01T10:00:00Z","customer":"c%05d","operator":"op01","channel":"direct"}',
      tid, n, k, (n * batch + k) % 20000 + 1)
  end
  return wrk.format("POST", "/v1/events", headers, table.concat(lines, "\n"))
end

function response(status, headers, body)
  if status ~= 200 then
    print("unexpected status " .. status .. ": " .. body)
  end
end

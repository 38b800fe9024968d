-- wrk script: POST batches of BATCH NDJSON events with ids unique per thread and request.
-- Env: KEY (API key), BATCH (events per request, default 1000), KIND=messages for personal messages
-- (message.sent, direct, one care text to every customer, dated now: a pasted template, which live
-- template detection counts) instead of received messages.
-- The line tails are built once in init (wrk runs on the same two cores as the server, so
-- the generator should spend as little CPU as it can); each request only prefixes unique ids.
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  n = 0
  batch = tonumber(os.getenv("BATCH") or "1000")
  local kind = os.getenv("KIND") or "received"
  if kind ~= "received" and kind ~= "messages" then
    error("KIND must be received or messages, not " .. kind)
  end
  -- ids differ by kind and by run, so a run on a server an earlier run posted to measures
  -- accepted events, not rejections of ids already taken
  run = kind .. os.time()
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  headers = {["Content-Type"] = "application/x-ndjson", ["Authorization"] = "Bearer " .. os.getenv("KEY")}
  -- Request n sends to customers (n * batch + k) % 20000 + 1: that pattern repeats every
  -- `period` requests, so its tails are built once.
  period = 20000 / math.gcd_like(batch, 20000)
  tails = {}
  for p = 0, period - 1 do
    local t = {}
    for k = 1, batch do
      local customer = (p * batch + k) % 20000 + 1
      if kind == "messages" then
        t[k] = string.format(
          '-%d","type":"message.sent","at":"%s","customer":"c%05d","operator":"op01","channel":"direct","intent":"care","text":"您好，最近用得怎么样？有问题随时找我"}',
          k, now, customer)
      else
        t[k] = string.format(
          '-%d","type":"message.received","at":"2026-10-01T10:00:00Z","customer":"c%05d","operator":"op01","channel":"direct"}',
          k, customer)
      end
    end
    tails[p] = t
  end
  lines = {}
end

function math.gcd_like(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

function request()
  n = n + 1
  local t = tails[n % period]
  local prefix = '{"id":"w' .. run .. '-' .. tid .. '-' .. n
  for k = 1, batch do
    lines[k] = prefix .. t[k]
  end
  return wrk.format("POST", "/v1/events", headers, table.concat(lines, "\n"))
end

function response(status, headers, body)
  if status ~= 200 then
    print("unexpected status " .. status .. ": " .. body)
  end
end

-- wrk script for bench/intake.py: signed real deliveries, each with a fresh delivery id.
--
--   wrk -s bench/intake.lua URL -- PREFIX MANIFEST
--
-- MANIFEST has one line per payload: "<event> <X-Hub-Signature-256> <body file>".
-- The signature covers the body only, so fresh ids need no signing in Lua:
-- https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
-- done() prints one machine-readable line for bench/intake.py:
--   RESULT <responses> <duration us> <non-2xx> <socket errors> <p50 us> <p99 us> <max us>

local threads = 0

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local payloads = {}
local sent = 0
local prefix = ""

function init(args)
  for line in io.lines(args[2]) do
    local event, signature, path = line:match("^(%S+) (%S+) (%S+)$")
    local file = assert(io.open(path, "rb"))
    payloads[#payloads + 1] = { event = event, signature = signature, body = file:read("*a") }
    file:close()
  end
  prefix = args[1] .. "-" .. tostring(thread_number) .. "-"
end

function request()
  sent = sent + 1
  local payload = payloads[(sent % #payloads) + 1]
  local headers = {
    ["X-GitHub-Event"] = payload.event,
    ["X-GitHub-Delivery"] = prefix .. sent,
    ["X-Hub-Signature-256"] = payload.signature,
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/webhook", headers, payload.body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max
  ))
end

-- wrk script used by compare-nginx.sh for every target, so that all runs do the same work.
--
-- Environment:
--   WRK_METHOD   HTTP method (default GET); POST for joins
--   WRK_HEADER   one extra request header, "Name: value" (e.g. the X-VWR-Ticket of a status poll)
--   WRK_BODY     request body (default none); a join needs none
--   WRK_CONTENT_TYPE  the body's Content-Type (default application/json)
--
-- At the end it prints one machine-readable line, read by compare-nginx.sh:
--   WRK_RESULT requests=N duration_us=N rps=X p50_us=N p90_us=N p99_us=N max_us=N
--              errors_connect=N errors_read=N errors_write=N errors_status=N errors_timeout=N

wrk.method = os.getenv("WRK_METHOD") or "GET"

local header = os.getenv("WRK_HEADER")
if header and header ~= "" then
  local name, value = header:match("^([^:]+):%s*(.*)$")
  if not name then
    error("WRK_HEADER must look like 'Name: value', got: " .. header)
  end
  wrk.headers[name] = value
end

local body = os.getenv("WRK_BODY")
if body and body ~= "" then
  wrk.body = body
  local content_type = os.getenv("WRK_CONTENT_TYPE")
  if not content_type or content_type == "" then content_type = "application/json" end
  wrk.headers["Content-Type"] = content_type
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end

-- Replays pre-signed requests written by bench/traffic.py: thread N reads
-- <prefix>.N.txt and sends its lines in order, so threads never share an id.
--   wrk ... -s bench/wrk.lua URL -- <prefix> <once|cycle> [rate]
-- "once": a thread that runs out stops (and says so); "cycle": it starts over
-- (used for replay storms). Every answer is checked: non-200, or a JSON body whose
-- "error" is not null, is counted by code. done() prints one JSON line: BENCH {...}
--
-- With a rate (requests per second for each wrk thread) the load is paced instead of
-- saturating: the thread's requests go out on a fixed schedule, one every 1/rate s,
-- whichever of its connections is free takes the next time slot, so the offered rate is
-- known whatever the latency. A slot no connection was free to take on time is sent as
-- soon as one is (then "late" counts it and "lag_max_us" says by how much), so with
-- enough connections the latencies are those of an open-loop client.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local requests, count, index, mode = {}, 0, 0, "once"
non200, failed, exhausted, errs, late, lag_max = 0, 0, 0, {}, 0, 0

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local interval, next_slot

-- wrk calls delay() (ms, whole) before each request when the script defines it; only
-- paced runs do, so a saturating run sends each request as soon as the last is answered.
local function paced_delay()
  local now = now_ms()
  local slot = next_slot or now
  next_slot = slot + interval
  if slot >= now then return slot - now end
  if now - slot > 1 then late = late + 1 end
  if now - slot > lag_max then lag_max = now - slot end
  return 0
end

local function split(s, sep)
  local out, start = {}, 1
  while true do
    local i = string.find(s, sep, start, true)
    if not i then table.insert(out, string.sub(s, start)); return out end
    table.insert(out, string.sub(s, start, i - 1))
    start = i + 1
  end
end

function init(args)
  local prefix = args[1]
  mode = args[2] or "once"
  if args[3] then
    interval = 1000 / tonumber(args[3])
    delay = paced_delay
  end
  local file = assert(io.open(prefix .. "." .. id .. ".txt", "r"))
  for line in file:lines() do
    local f = split(line, "\t")
    local headers = {}
    for _, h in ipairs(split(f[3], "\31")) do
      local colon = string.find(h, ": ", 1, true)
      headers[string.sub(h, 1, colon - 1)] = string.sub(h, colon + 2)
    end
    count = count + 1
    requests[count] = wrk.format(f[1], f[2], headers, f[4] ~= "" and f[4] or nil)
  end
  file:close()
  assert(count > 0, "empty request file for thread " .. id)
end

function request()
  index = index + 1
  if index > count then
    if mode == "cycle" then
      index = 1
    else
      exhausted = 1
      wrk.thread:stop()
      index = count
    end
  end
  return requests[index]
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    errs["HTTP_" .. status] = (errs["HTTP_" .. status] or 0) + 1
  elseif not string.find(body, '"error":%s*null') then
    failed = failed + 1
    local code = string.match(body, '"error":%s*"([^"]*)"') or "UNPARSED"
    errs[code] = (errs[code] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total_non200, total_failed, total_exhausted, codes = 0, 0, 0, {}
  local total_late, worst_lag = 0, 0
  for _, t in ipairs(threads) do
    total_non200 = total_non200 + t:get("non200")
    total_failed = total_failed + t:get("failed")
    total_exhausted = total_exhausted + t:get("exhausted")
    total_late = total_late + t:get("late")
    worst_lag = math.max(worst_lag, t:get("lag_max"))
    for code, n in pairs(t:get("errs")) do codes[code] = (codes[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(codes) do table.insert(parts, string.format('"%s":%d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,' ..
    '"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,"non200":%d,"failed":%d,' ..
    '"exhausted":%d,"socket_errors":%d,"timeouts":%d,"late":%d,"lag_max_us":%d,' ..
    '"codes":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency:percentile(99.9), latency.max,
    latency.mean, total_non200, total_failed, total_exhausted,
    e.connect + e.read + e.write, e.timeout, total_late, worst_lag * 1000,
    table.concat(parts, ",")))
end

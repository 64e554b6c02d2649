-- common.lua - shared by the wrk scripts (loaded with dofile).
--
-- Environment (set by bench/run):
--   BENCH_KEY   the API key, sent as X-API-Key on every request
--   BENCH_N     seeded contacts: User1..User<N>@Bench.Example.com
-- Every script reports one line on stdout that bench/run parses:
--   BENCH {"requests":..,"rps":..,"p50_us":..,"p99_us":..,"errors":..,...}
-- errors = wrk's socket errors (connect, read, write, timeout) + answers
-- with a status >= 400 (wrk's own count); scripts that define response()
-- (the POSTs) also count any other status outside 2xx as "non2xx".

bench = {}

bench.key = os.getenv("BENCH_KEY") or ""
bench.n = tonumber(os.getenv("BENCH_N") or "1000")

wrk.headers["X-API-Key"] = bench.key

local threads = {}
local next_id = 0

-- main state: number the threads so that each can make unique values.
function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function bench.seed_random()
   local tid = tonumber(wrk.thread:get("tid")) or 0
   math.randomseed(os.time() * 1000 + tid * 7919)
   -- LuaJIT: the first values after seeding are poorly mixed
   for _ = 1, 10 do math.random() end
   return tid
end

function bench.email(p)
   return "User" .. p .. "@Bench.Example.com"
end

-- For scripts that look at every answer (cheap only for small bodies):
-- anything outside 2xx, or anything but WANT when it is given (E1: 304).
non2xx = 0
sample = ""
function bench.check(status, body, want)
   local bad
   if want then bad = status ~= want else bad = status < 200 or status > 299 end
   if bad then
      non2xx = non2xx + 1
      if sample == "" then
         sample = status .. " " .. string.sub(body or "", 1, 300)
      end
   end
end

local function json_str(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

function done(summary, latency, requests)
   local e = summary.errors
   local extra, samples = 0, {}
   for _, t in ipairs(threads) do
      extra = extra + (tonumber(t:get("non2xx")) or 0)
      local s = t:get("sample")
      if s and s ~= "" then table.insert(samples, s) end
   end
   -- wrk counts status >= 400 in e.status; non2xx (when counted) includes
   -- them, so take the larger of the two.
   local bad_status = math.max(e.status, extra)
   local errors = e.connect + e.read + e.write + e.timeout + bad_status
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCH {"requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"bytes":%d,' ..
      '"errors":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
      '"err_timeout":%d,"err_status":%d,"sample":%s}\n',
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, summary.bytes,
      errors, e.connect, e.read, e.write, e.timeout, bad_status,
      json_str(samples[1] or "")))
end

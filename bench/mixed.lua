-- mixed.lua - reads with a share of updates (issue 12):
--   M1: 95% GET /contacts?email= of a random hot contact (1..BENCH_HOT, the
--       cache warm as in S1) and 5% POST /contacts updating the name of a
--       random contact among all N (as S5);
--   M2: the same with BENCH_WRITE_PCT=20;
--   M3: BENCH_MODE=page: S3's reads (/contacts?offset=<k*1000>&limit=1000,
--       k random, full pages only) and 5% updates.
--
--   BENCH_MODE       email (default) or page
--   BENCH_WRITE_PCT  the updates' share in percent (default 5)
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local mode = os.getenv("BENCH_MODE") or "email"
local write_pct = tonumber(os.getenv("BENCH_WRITE_PCT") or "") or 5
local count

function init(args)
   bench.seed_random()
   if mode == "page" then
      count = math.floor(bench.n / 1000)
   else
      count = tonumber(os.getenv("BENCH_HOT") or "") or bench.n
      if count > bench.n then count = bench.n end
   end
end

function request()
   if math.random(1, 100) <= write_pct then
      wrk.headers["Content-Type"] = "application/json"
      local body = '{"email":"' .. bench.email(math.random(1, bench.n)) ..
         '","name":"Bench ' .. math.random(1, 1000000000) .. '"}'
      return wrk.format("POST", "/contacts", nil, body)
   end
   wrk.headers["Content-Type"] = nil
   if mode == "page" then
      return wrk.format("GET", "/contacts?offset=" .. (math.random(0, count - 1) * 1000) ..
         "&limit=1000", nil, nil)
   end
   return wrk.format("GET", "/contacts?email=" .. bench.email(math.random(1, count)), nil, nil)
end

-- Every answer looked at, except in page mode: handing each page (~320 KB)
-- to Lua would cost more than S3 pays (wrk still counts any status >= 400).
if mode ~= "page" then
   function response(status, headers, body)
      bench.check(status, body)
   end
end

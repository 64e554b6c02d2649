-- get.lua - GET /contacts for S1-S4 and the floor's runs.
--
--   BENCH_MODE  email: /contacts?email=User<p>@Bench.Example.com, p random
--                      in 1..BENCH_HOT (default N)
--               page:  /contacts?offset=<k*1000>&limit=1000, k random, full
--                      pages only
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local mode = os.getenv("BENCH_MODE") or "email"
-- BENCH_QS: more query parameters (the floor's "via=redis")
local extra = os.getenv("BENCH_QS")
extra = (extra and extra ~= "") and ("&" .. extra) or ""
local count

function init(args)
   bench.seed_random()
   if mode == "email" then
      count = tonumber(os.getenv("BENCH_HOT") or "") or bench.n
      if count > bench.n then count = bench.n end
   else
      count = math.floor(bench.n / 1000)
   end
end

function request()
   local v = math.random(0, count - 1)
   local path
   if mode == "email" then
      path = "/contacts?email=" .. bench.email(v + 1)
   else
      path = "/contacts?offset=" .. (v * 1000) .. "&limit=1000"
   end
   return wrk.format("GET", path .. extra)
end

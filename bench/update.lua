-- update.lua - S5: POST /contacts updating a random seeded contact's name.
--
--   BENCH_IDEM=1  S5_idem: every request carries a fresh Idempotency-Key
--                 (random, and unique per thread and request)
--   BENCH_ADD_LISTS=<id,id,...>  S5L (by hand, not a bench/run scenario):
--                 every update also joins one of these lists
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local idem = os.getenv("BENCH_IDEM") == "1"
local lists = {}
for l in string.gmatch(os.getenv("BENCH_ADD_LISTS") or "", "[^,]+") do
   lists[#lists + 1] = l
end
local tid, i = 0, 0

function init(args)
   tid = bench.seed_random()
end

function request()
   local p = math.random(1, bench.n)
   local body = '{"email":"' .. bench.email(p) .. '","name":"Bench ' ..
      math.random(1, 1000000000) .. '"'
   if #lists > 0 then
      body = body .. ',"addToLists":["' .. lists[math.random(1, #lists)] .. '"]'
   end
   body = body .. '}'
   if idem then
      i = i + 1
      wrk.headers["Idempotency-Key"] = string.format("bench-%d-%d-%08x%08x",
         tid, i, math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
   end
   return wrk.format(nil, "/contacts", nil, body)
end

function response(status, headers, body)
   bench.check(status, body)
end

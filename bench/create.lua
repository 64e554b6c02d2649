-- create.lua - S6: POST /contacts creating new contacts (unique emails);
-- every other one also joins one of the lists in BENCH_LISTS.
--
--   BENCH_TAG    makes this run's emails unique: New-<tag>-<thread>-<i>@...
--   BENCH_LISTS  list ids, comma-separated
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local tag = os.getenv("BENCH_TAG") or tostring(os.time())
local lists = {}
for id in string.gmatch(os.getenv("BENCH_LISTS") or "", "[^,]+") do
   table.insert(lists, id)
end
local tid, i = 0, 0

function init(args)
   tid = bench.seed_random()
end

function request()
   i = i + 1
   local body = '{"email":"New-' .. tag .. '-' .. tid .. '-' .. i ..
      '@Bench.Example.com","name":"New ' .. i .. '","company":"Bench"'
   if i % 2 == 0 and #lists > 0 then
      body = body .. ',"addToLists":["' .. lists[math.random(1, #lists)] .. '"]'
   end
   return wrk.format(nil, "/contacts", nil, body .. "}")
end

function response(status, headers, body)
   bench.check(status, body)
end

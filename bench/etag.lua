-- etag.lua - E1: S3's requests (a random full page of 1000) with
-- If-None-Match carrying that page's ETag, taken just before (bench/run
-- writes one "OFFSET ETAG" line per page to BENCH_ETAGS).  Every answer
-- must be 304; anything else is counted as an error.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local pages = {}
for line in io.lines(os.getenv("BENCH_ETAGS")) do
   local off, tag = string.match(line, "^(%d+) (.+)$")
   if off then table.insert(pages, { off, tag }) end
end

function init(args)
   bench.seed_random()
end

function request()
   local pg = pages[math.random(1, #pages)]
   wrk.headers["If-None-Match"] = pg[2]
   return wrk.format("GET", "/contacts?offset=" .. pg[1] .. "&limit=1000")
end

function response(status, headers, body)
   bench.check(status, body, 304)
end

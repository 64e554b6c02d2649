-- fixed.lua - GET one path again and again (BENCH_PATH): the static files
-- of limit (a), and the offset-cost check.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local path = os.getenv("BENCH_PATH") or "/"

function request()
   return wrk.format("GET", path)
end

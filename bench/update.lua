-- update.lua - S5: POST /contacts updating a random seeded contact's name.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
   bench.seed_random()
end

function request()
   local p = math.random(1, bench.n)
   local body = '{"email":"' .. bench.email(p) .. '","name":"Bench ' ..
      math.random(1, 1000000000) .. '"}'
   return wrk.format(nil, "/contacts", nil, body)
end

function response(status, headers, body)
   bench.check(status, body)
end

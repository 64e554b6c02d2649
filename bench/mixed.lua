-- mixed.lua - M1 (issue 12): 95% GET /contacts?email= of a random hot
-- contact (1..BENCH_HOT, the cache warm as in S1) and 5% POST /contacts
-- updating the name of a random contact among all N (as S5).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local hot

function init(args)
   bench.seed_random()
   hot = tonumber(os.getenv("BENCH_HOT") or "") or bench.n
   if hot > bench.n then hot = bench.n end
end

function request()
   if math.random(1, 100) <= 5 then
      wrk.headers["Content-Type"] = "application/json"
      local body = '{"email":"' .. bench.email(math.random(1, bench.n)) ..
         '","name":"Bench ' .. math.random(1, 1000000000) .. '"}'
      return wrk.format("POST", "/contacts", nil, body)
   end
   wrk.headers["Content-Type"] = nil
   return wrk.format("GET", "/contacts?email=" .. bench.email(math.random(1, hot)), nil, nil)
end

function response(status, headers, body)
   bench.check(status, body)
end

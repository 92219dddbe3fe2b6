-- wrk script: GET one path with no cookie, and count the answers that are not
-- the expected status (an anonymous request to a protected URL must be the
-- 302 to the IdP, a static file 200).
--   wrk -t2 -c20 -d2s -s status.lua http://127.0.0.1:PORT -- PATH STATUS
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   path, want = args[1], tonumber(args[2])
   req = wrk.format("GET", path)
   bad = 0
end

function request()
   return req
end

function response(status, headers, body)
   if status ~= want then
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local n = 0
   for _, t in ipairs(threads) do
      n = n + t:get("bad")
   end
   io.write(string.format("BENCH_UNEXPECTED %d\n", n))
   io.write(string.format("BENCH_REQUESTS %d\n", summary.requests))
   io.write(string.format("BENCH_DURATION_US %d\n", summary.duration))
end

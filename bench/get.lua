-- wrk script: GET one path, each request with the next session cookie of a
-- file (one cookie value a line), so that the requests spread over every live
-- session. The static runs use it too, so both kinds of request cost wrk the same.
--   wrk -t2 -c20 -d5s -s get.lua http://127.0.0.1:PORT -- PATH COOKIE_NAME COOKIE_FILE [HEADER]
-- With HEADER (e.g. Authorization), each line is that header's whole value instead
-- of a cookie value (COOKIE_NAME is then unused).
-- Every response must be 200: done() prints "BENCH_NON200 <count>" and the runner
-- rejects a measurement with any (a redirect to the IdP would look fast).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads - 1)
end

function init(args)
   local path, name, file, header = args[1], args[2], args[3], args[4]
   reqs = {}
   n = 0
   for line in io.lines(file) do
      if #line > 0 then
         n = n + 1
         if header then
            reqs[n] = wrk.format("GET", path, { [header] = line })
         else
            reqs[n] = wrk.format("GET", path, { ["Cookie"] = name .. "=" .. line })
         end
      end
   end
   if n == 0 then
      reqs[1] = wrk.format("GET", path)
      n = 1
   end
   -- each thread starts at its own place in the list
   i = (tid or 0) * 7919 % n
   non200 = 0
end

function request()
   i = i % n + 1
   return reqs[i]
end

function response(status, headers, body)
   if status ~= 200 then
      non200 = non200 + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, t in ipairs(threads) do
      bad = bad + t:get("non200")
   end
   io.write(string.format("BENCH_NON200 %d\n", bad))
   io.write(string.format("BENCH_REQUESTS %d\n", summary.requests))
   io.write(string.format("BENCH_DURATION_US %d\n", summary.duration))
end

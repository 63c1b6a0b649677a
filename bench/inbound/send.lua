-- wrk script for bench/inbound/run-inbound-bench: cycles through pre-signed /send requests
-- (one per line: path TAB Authorization TAB body) from the file named by REQUESTS.
local requests = {}
local host = os.getenv("BENCH_HOST")
for line in io.lines(os.getenv("REQUESTS")) do
  local path, auth, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
  requests[#requests + 1] = wrk.format("PUT", path, {
    ["Host"] = host, ["Authorization"] = auth, ["Content-Type"] = "application/json"}, body)
end
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end

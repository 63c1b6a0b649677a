-- wrk script for bench/inbound/run-inbound-bench: cycles through pre-signed /send requests
-- (one per line: path TAB Authorization TAB body) from the file named by REQUESTS.
-- The create transaction (path .../send/create-N) is left out: run-inbound-bench sends it once
-- with curl before the load. It cannot be the first item of the cycle: wrk calls request() once
-- on the first thread's Lua state to check the script's output (script_verify_request) and
-- throws that request away, so the first line would never reach the server.
local requests = {}
local host = os.getenv("BENCH_HOST")
for line in io.lines(os.getenv("REQUESTS")) do
  local path, auth, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
  if not path:find("/send/create-", 1, true) then
    requests[#requests + 1] = wrk.format("PUT", path, {
      ["Host"] = host, ["Authorization"] = auth, ["Content-Type"] = "application/json"}, body)
  end
end
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end

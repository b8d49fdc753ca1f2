-- Ends up to ARGV[8] sessions of the room, least recently seen first, each as leave.lua ends
-- one: an operator's "end all sessions", run in batches so that Redis serves other commands in
-- between (RedisRoom::LeaveAll repeats it until a batch comes back short).
-- Returns {ended, last, front, waiting, active, called, now_ms, session...}: the sessions it
-- ended follow, so that the node that asked refuses their tokens at once.
local now = now_ms()
local batch = math.floor(tonumber(ARGV[8]) or 0)
local ended = {}
if batch >= 1 then
  for _, n in ipairs(redis.call('ZRANGE', K_SESS, 0, batch - 1)) do
    if end_session(n, 'leaves', now) == 1 then ended[#ended + 1] = n end
  end
end
local f = figures()
local answer = {#ended, f[1], f[2], f[3], f[4], f[5], now}
for _, n in ipairs(ended) do answer[#answer + 1] = n end
return answer

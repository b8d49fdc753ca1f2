-- Keeps session ARGV[8] alive. Returns 1, or 0 when there is no such session.
local n = ARGV[8]
if not redis.call('ZSCORE', K_SESS, n) then return 0 end
redis.call('ZADD', K_SESS, now_ms(), n)
return 1

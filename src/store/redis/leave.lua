-- Ends session ARGV[8] and frees its slot. Returns 1, or 0 when there was no such session.
local n = ARGV[8]
if redis.call('ZREM', K_SESS, n) == 0 then return 0 end
redis.call('HDEL', K_SINFO, n)
forget_identity(n)
redis.call('HINCRBY', K_ROOM, 'leaves', 1)
return 1

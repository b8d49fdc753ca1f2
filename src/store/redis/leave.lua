-- Ends session ARGV[8] and frees its slot.
-- Returns {1, or 0 when there was no such session, last, front, waiting, active, called}.
local n = ARGV[8]
local found = redis.call('ZREM', K_SESS, n)
if found == 1 then
  redis.call('HDEL', K_SINFO, n)
  forget_identity(n)
  redis.call('HINCRBY', K_ROOM, 'leaves', 1)
end
local f = figures()
return {found, f[1], f[2], f[3], f[4], f[5]}

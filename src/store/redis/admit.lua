-- Admits ARGV[8] (identity, '' for none) at once, without a place in line and whatever the
-- policy says (core::Room::Admit): the session is 'b' .. the room's next bypass number, in the
-- same structures as any session; the line and the identity's ticket in it are untouched.
-- One bypass session per identity at a time: while the one an identity was admitted with
-- lives (ident 'b:' .. identity names it), it is the answer again, seen now.
-- Returns {status, session, frontier_at_join (0: the node makes it the ticket), admitted_ms,
--          identity, last, front, waiting, active, called}: join's layout.
local identity = ARGV[8]
local now = now_ms()
if identity ~= '' then
  local held = redis.call('HGET', K_IDENT, 'b:' .. identity)
  if held and redis.call('ZSCORE', K_SESS, held) then
    redis.call('ZADD', K_SESS, now, held)
    local f = figures()
    return {'admitted', held, 0, tonumber(redis.call('HGET', K_SINFO, held) or now), identity,
            f[1], f[2], f[3], f[4], f[5]}
  end
end
local session = 'b' .. redis.call('HINCRBY', K_ROOM, 'bypass_last', 1)
redis.call('ZADD', K_SESS, now, session)
redis.call('HSET', K_SINFO, session, now)
redis.call('ZADD', K_SADM, now, session)
if identity ~= '' then
  redis.call('HSET', K_TIDENT, session, identity)
  redis.call('HSET', K_IDENT, 'b:' .. identity, session)
end
redis.call('HINCRBY', K_ROOM, 'bypass', 1)
local f = figures()
return {'admitted', session, 0, now, identity, f[1], f[2], f[3], f[4], f[5]}

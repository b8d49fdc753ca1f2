-- A poll of ticket ARGV[8] at or below the frontier (a waiting one is answered from the node's
-- cache), or of a bypass session ('b' .. n). Returns {status, ticket, 0, admitted_ms, identity,
-- last, front, waiting, active, called, place}: join's layout, with the frontier at join left to
-- the ticket, which carries it.
local n = ARGV[8]
local now = now_ms()
local r
if string.sub(n, 1, 1) == 'b' then
  -- Never in line: admitted while the session lives (the poll keeps it alive), then expired.
  if redis.call('ZSCORE', K_SESS, n) then
    redis.call('ZADD', K_SESS, now, n)
    r = {'admitted', n, tonumber(redis.call('HGET', K_SINFO, n) or now),
         redis.call('HGET', K_TIDENT, n) or ''}
  else
    r = {'expired', n, 0, ''}
  end
else
  r = resolve(tonumber(n), now)
end
local f = figures()
return {r[1], r[2], 0, r[3], r[4], f[1], f[2], f[3], f[4], f[5], r[5] or r[2]}

-- Ends the session that identity ARGV[8]'s place in line became, if it is one (a TRACER
-- check-out on a node that has not seen the identity). A waiting or called place is left as it
-- is. Returns {1, or 0 when the identity holds no session, last, front, waiting, active,
-- called, now_ms, the session's name ('' when none)}.
local now = now_ms()
local held = redis.call('HGET', K_IDENT, ARGV[8])
local found, n = 0, ''
if held then
  n = string.match(held, '^(%d+):') or ''
  if n ~= '' then found = end_session(n, 'leaves', now) end
end
if found == 0 then n = '' end
local f = figures()
return {found, f[1], f[2], f[3], f[4], f[5], now, n}

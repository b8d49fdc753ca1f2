-- Gives up what identity ARGV[8]'s place in line is (a TRACER check-out, on any node): its
-- session ends, or its waiting or called place is given back (withdraw()). Returns {1, or 0 when
-- the identity holds no place, last, front, waiting, active, called, now_ms, the ended session's
-- name ('' when none ended)}.
local now = now_ms()
local held = redis.call('HGET', K_IDENT, ARGV[8])
local found, n = 0, ''
if held then
  n = string.match(held, '^(%d+):') or ''
  if n ~= '' and redis.call('ZSCORE', K_SESS, n) then
    found = end_session(n, 'leaves', now)
  elseif n ~= '' then
    found = withdraw(n)
    n = ''  -- no session ended: nothing for the nodes to refuse
  end
end
if found == 0 then n = '' end
local f = figures()
return {found, f[1], f[2], f[3], f[4], f[5], now, n}

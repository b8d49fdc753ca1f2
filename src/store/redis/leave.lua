-- Ends session ARGV[8] and frees its slot.
-- Returns {1, or 0 when there was no such session, last, front, waiting, active, called, now_ms}.
local now = now_ms()
local found = end_session(ARGV[8], 'leaves', now)
local f = figures()
return {found, f[1], f[2], f[3], f[4], f[5], now}

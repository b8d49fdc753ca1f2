-- Gives back ticket ARGV[8]'s place before its session begins (core::Room::Withdraw).
-- Returns {1, or 0 when it is no waiting or called place, last, front, waiting, active, called}.
local found = withdraw(ARGV[8])
local f = figures()
return {found, f[1], f[2], f[3], f[4], f[5]}

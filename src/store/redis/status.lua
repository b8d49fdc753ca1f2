-- A poll of ticket ARGV[8] at or below the frontier (a waiting one is answered from the node's
-- cache). Returns {status, ticket, 0, admitted_ms, identity, last, front, waiting, active,
-- called}: join's layout, with the frontier at join left to the ticket, which carries it.
local r = resolve(tonumber(ARGV[8]), now_ms())
local f = figures()
return {r[1], r[2], 0, r[3], r[4], f[1], f[2], f[3], f[4], f[5]}

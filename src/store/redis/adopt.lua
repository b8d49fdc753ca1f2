-- A node starts serving this room (or reloads its configuration). ARGV[8] = the room's policy as
-- this node's file gives it (encoded), ARGV[9] = a fresh random incarnation.
-- The first node to come makes the room's incarnation; a file policy that differs from the one
-- the room was last configured with replaces the policy in force (an edited file wins, as on
-- one node); otherwise the policy in force, an operator's change included, stays.
-- Returns {incarnation, policy in force}.
redis.call('HSETNX', K_ROOM, 'inc', ARGV[9])
if redis.call('HGET', K_ROOM, 'policy_base') ~= ARGV[8] then
  redis.call('HSET', K_ROOM, 'policy_base', ARGV[8])
  use_policy(ARGV[8])
end
return {redis.call('HGET', K_ROOM, 'inc'), redis.call('HGET', K_ROOM, 'policy')}

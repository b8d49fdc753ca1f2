-- An operator's policy change, for every node. ARGV[8] = the new policy (encoded).
redis.call('HSET', K_ROOM, 'policy', ARGV[8])
return 1

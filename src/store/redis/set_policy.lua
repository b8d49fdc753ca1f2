-- An operator's policy change, for every node. ARGV[8] = the new policy (encoded).
use_policy(ARGV[8])
return 1

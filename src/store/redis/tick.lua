-- The tick of one room, run by the node holding the room's lease; any other node only reads the
-- figures and the sessions ended since its last tick. ARGV[8] = this node's id, ARGV[9] = lease
-- period in ms, ARGV[10] = most tickets to call in one tick, ARGV[11] = where this node's reading
-- of the revoked sessions stands (ended_at_ms; '' for a node that has read none yet: it starts
-- ARGV[12] ago), ARGV[12] = how long a revoked session is kept, in ms, ARGV[13] = the policy's
-- session_max in ms (0: no cap), ARGV[14] = the most waiting tickets the sweep for abandonment
-- marks in one tick, ARGV[15...] = pairs (ticket, ms from now by which its next poll is due): the
-- polls of waiting tickets this node answered from its cache since its last tick.
-- Returns {ticked (0|1), last, front, waiting, active, called, advance_rate, joins, rejected,
--          full, admissions, immediate, no_shows, expired, leaves, rejoins, lease holder,
--          policy in force (as encoded by the nodes), nodes serving the room, bypass,
--          where the node's reading stands now, {session, ended_at_ms, ...} revoked from where it
--          stood, withdrawn, abandoned (passed without a call), marked abandoned now,
--          the draw's version (a node that holds another reads the draw key again),
--          {sl1, ..., sl12, sl_ms} the session lengths (prelude's count_length)}.
local K_LEASE, K_NODES = KEYS[9], KEYS[10]
local session_max_ms = tonumber(ARGV[13]) or 0
local node, lease_ms, max_call = ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
local revoked_from, revoked_keep_ms = ARGV[11], tonumber(ARGV[12])
local kRevokedPerTick = 5000
local ticked = 0
local holder = redis.call('GET', K_LEASE)
if holder == node then
  redis.call('PEXPIRE', K_LEASE, lease_ms)
elseif not holder then
  redis.call('SET', K_LEASE, node, 'PX', lease_ms)
  holder = node
end

-- Abandonment (core::Room, core::Attendance). abandon_after_polls is the 12th field of the
-- policy in force, poll.max its 10th.
local abandon_n = policy_number(12)
do
  local now = now_ms()
  local front, last = num('front'), num('last')
  if abandon_n ~= tonumber(redis.call('HGET', K_ROOM, 'abandon_n') or '0') then
    -- Switched (or changed): whoever was marked is present again, and nobody is marked before
    -- everyone has had the whole new allowance, from now, to poll in.
    -- (The longest pollAfterMs is poll.max with 10 % jitter; core::SilenceAllowedMs.)
    redis.call('HSET', K_ROOM, 'abandon_n', abandon_n, 'sweep_from',
               now + math.ceil(math.max(abandon_n, 1) * policy_number(10) * 1.1) + 100)
    redis.call('UNLINK', K_ABAND)
  end
  if abandon_n > 0 then
    -- The polls this node answered: each ticket's next poll is due by the time it reports; a
    -- ticket marked abandoned that polled is present again, with its place (it is still above
    -- the frontier: the frontier only passes marked tickets in this script or a join).
    for i = 15, #ARGV - 1, 2 do
      local n, after = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
      if n and after and n > 0 and n <= last and place_of(n) > front and
          redis.call('HEXISTS', K_IDENT, 'w:' .. n) == 0 then
        redis.call('ZREM', K_ABAND, n)
        redis.call('ZADD', K_DUE, now + after, n)
      end
    end
  end
end

if holder == node then
  ticked = 1
  local now = now_ms()
  -- Waiting tickets whose poll is overdue are marked abandoned, at most ARGV[14] per tick (the
  -- rest at the next): they leave waiting(), and the frontier passes them without a call.
  if abandon_n > 0 and now >= tonumber(redis.call('HGET', K_ROOM, 'sweep_from') or '0') then
    local front, last = num('front'), num('last')
    for _, t in ipairs(redis.call('ZRANGEBYSCORE', K_DUE, '-inf', now, 'LIMIT', 0,
                                  tonumber(ARGV[14]))) do
      redis.call('ZREM', K_DUE, t)
      local n = tonumber(t)
      if n <= last and place_of(n) > front and redis.call('HEXISTS', K_IDENT, 'w:' .. n) == 0 then
        redis.call('ZADD', K_ABAND, n, n)
      end
    end
  end
  -- Idle sessions end.
  for _, n in ipairs(redis.call('ZRANGEBYSCORE', K_SESS, '-inf', now - P.session_timeout_ms,
                                'LIMIT', 0, 10000)) do
    end_session(n, 'expired', now)
  end
  -- Sessions at the cap on time inside end however active (core::Room::Tick).
  if session_max_ms > 0 then
    for _, n in ipairs(redis.call('ZRANGEBYSCORE', K_SADM, '-inf', now - session_max_ms,
                                  'LIMIT', 0, 10000)) do
      end_session(n, 'expired', now)
    end
  end
  -- Revoked sessions no token can name any more are forgotten.
  redis.call('ZREMRANGEBYSCORE', K_REVOKED, '-inf', now - revoked_keep_ms)
  -- Calls not claimed within the grace are no-shows.
  for _, n in ipairs(redis.call('ZRANGEBYSCORE', K_CALLS, '-inf', now - P.claim_grace_ms,
                                'LIMIT', 0, 10000)) do
    redis.call('ZREM', K_CALLS, n)
    forget_identity(n)
    redis.call('HINCRBY', K_ROOM, 'no_shows', 1)
  end
  -- The frontier advances.
  local wait = waiting()
  local tokens = refill(now, wait > 0)
  local advance = 0
  if P.mode == 'fifo' then
    local free = P.max_active - redis.call('ZCARD', K_SESS) - redis.call('ZCARD', K_CALLS)
    advance = math.max(0, math.min(available(tokens), free, wait))
    tokens = tokens - advance
  elseif P.mode == 'passthrough' then
    advance = wait
  end
  advance = math.min(advance, max_call)
  set_tokens(tokens)
  call_next(advance, now)
  -- The advance rate (core::AdvanceRateEstimator), observed only while people waited: the
  -- frontier's own advance, places passed over included, as positions count them.
  local front = num('front')
  local rate = tonumber(redis.call('HGET', K_ROOM, 'rate') or tostring(P.admit_rate))
  local last_tick = tonumber(redis.call('HGET', K_ROOM, 'tick_ms') or tostring(now))
  local dt = (now - last_tick) / 1000
  if P.mode == 'fifo' and num('wal') > 0 and dt > 0 then
    local sample = (front - num('fal')) / dt
    rate = rate + (1 - math.exp(-dt / 20)) * (sample - rate)
  end
  redis.call('HSET', K_ROOM, 'rate', string.format('%.6f', rate), 'tick_ms', now,
             'wal', waiting(), 'fal', front)
end

-- Every node ticks every room: a node that has not ticked for three lease periods is gone.
local seen_ms = now_ms()
redis.call('HSET', K_NODES, node, seen_ms)
local nodes = 0
local marks = redis.call('HGETALL', K_NODES)
for i = 1, #marks, 2 do
  if seen_ms - tonumber(marks[i + 1]) <= 3 * lease_ms then
    nodes = nodes + 1
  else
    redis.call('HDEL', K_NODES, marks[i])
  end
end

-- The sessions ended since this node last read, from any node. The reading starts again at the
-- last score read, inclusive: an end recorded later within that same millisecond is still read
-- (the node already holds the others). A node that could not reach Redis for a while reads all
-- it missed; what was pruned meanwhile no token can name any more.
if revoked_from == '' then revoked_from = seen_ms - revoked_keep_ms end
local revoked = redis.call('ZRANGEBYSCORE', K_REVOKED, revoked_from, '+inf', 'WITHSCORES', 'LIMIT',
                           0, kRevokedPerTick)
local revoked_to = seen_ms
if #revoked == 2 * kRevokedPerTick then revoked_to = revoked[#revoked] end

local f = figures()
return {ticked, f[1], f[2], f[3], redis.call('ZCARD', K_SESS), redis.call('ZCARD', K_CALLS),
        redis.call('HGET', K_ROOM, 'rate') or tostring(P.admit_rate), num('joins'),
        num('rejected'), num('full'), num('admissions'), num('immediate'), num('no_shows'),
        num('expired'), num('leaves'), num('rejoins'), holder,
        redis.call('HGET', K_ROOM, 'policy') or '', nodes, num('bypass'), revoked_to, revoked,
        num('withdrawn'), num('abandoned'), redis.call('ZCARD', K_ABAND), num('draw_v'),
        redis.call('HMGET', K_ROOM, 'sl1', 'sl2', 'sl3', 'sl4', 'sl5', 'sl6', 'sl7', 'sl8', 'sl9',
                   'sl10', 'sl11', 'sl12', 'sl_ms')}

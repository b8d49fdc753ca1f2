-- Shared by every room script (prepended to each). One room's state lives in keys that share
-- the hash tag {<room>}, so a script touches one Redis Cluster slot:
--   KEYS[1] room   HASH  last, front, counters, budget, estimator, inc, policy
--   KEYS[2] ident  HASH  identity -> "ticket:frontier_at_join" (its place in line),
--                        'b:' .. identity -> its live bypass session ('b7'; admit.lua), and
--                        'w:' .. ticket -> 1 for a place given back above the frontier
--                        (withdraw(); the room hash counts them in 'departed')
--   KEYS[3] tident HASH  ticket -> identity
--   KEYS[4] calls  ZSET  called, not yet claimed: ticket -> called_at_ms
--   KEYS[5] sess   ZSET  admitted sessions: session -> last_seen_ms
--   KEYS[6] sinfo  HASH  session -> admitted_ms
--   KEYS[7] revoked ZSET ended sessions: session -> ended_at_ms, kept for as long as a token
--                        naming one may still be valid (the tick's holder prunes; every node's
--                        tick reads what is new, so that /api/v1/verify refuses it everywhere)
--   KEYS[8] sadm   ZSET  admitted sessions: session -> admitted_ms (what rooms[].session_max
--                        ends, earliest first; sinfo holds the same times by session)
--   KEYS[9] lease  STRING the node that ticks this room (tick script only)
--   KEYS[10] nodes HASH  node -> last tick_ms of each node serving the room (tick script only)
--   KEYS[11] due   ZSET  waiting tickets watched for abandonment: ticket -> the time by which
--                        its next poll is due (join.lua; the nodes report polls at their tick)
--   KEYS[12] aband ZSET  waiting tickets marked abandoned (out of waiting(); the frontier passes
--                        them without a call): ticket -> ticket
--   KEYS[13] draw  STRING the opening draw in use (draw.lua; core::DrawnOrder): its first ticket
--                        (8 bytes, little-endian), then for each place first + i the ticket there
--                        as ticket - first (4 bytes, little-endian). The room hash holds its first
--                        and last tickets ('draw_first', 'draw_last': kept after it is passed, until
--                        the next, whose draw.lua checks that its calls are claimed), its size
--                        ('draw_n', 0: none in use) and a version ('draw_v', read by every tick).
--   KEYS[14] drawp STRING the same draw the other way: for each ticket first + i its place as
--                        place - first (4 bytes, little-endian)
-- The line counts places: the frontier counts places, and a ticket's place is its number except
-- inside the draw. Everything else (calls, sessions, identities, places given back ('w:'),
-- deadlines and marks of abandonment) is kept by ticket, so that a draw moves nothing.
-- A session is named by its ticket number in decimal, or, when admitted without a place in
-- line (admit.lua), by 'b' and its number in the room's bypass range ('b7' is the node's
-- core::kBypassTicketBase + 7: Lua's numbers are doubles and cannot hold 2^62 + n exactly).
-- The room hash counts bypass numbers issued in 'bypass_last' and bypass admissions in 'bypass'.
-- Every time comes from the Redis server's clock (TIME), so the nodes' clocks never decide an
-- expiry. The rules are core::Room's (src/core/room.cpp); keep the two in step.
local K_ROOM, K_IDENT, K_TIDENT, K_CALLS, K_SESS, K_SINFO, K_REVOKED = KEYS[1], KEYS[2], KEYS[3],
    KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local K_SADM = KEYS[8]
local K_DUE, K_ABAND = KEYS[11], KEYS[12]
local K_DRAW, K_DRAWP = KEYS[13], KEYS[14]
-- The most places one script passes without a call (given back or abandoned): a flood of joins
-- that never polled is passed over several ticks, each bounded (core::Room::kSweepBudget).
local kPassPerScript = 10000

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function num(field)
  return tonumber(redis.call('HGET', K_ROOM, field) or '0') or 0
end

-- Policy, as the node passes it: ARGV[1..7].
local P = {
  mode = ARGV[1],                         -- fifo | passthrough | reject | pause
  max_active = tonumber(ARGV[2]),
  queue_limit = tonumber(ARGV[3]),        -- 0 = none
  admit_rate = tonumber(ARGV[4]),
  burst = tonumber(ARGV[5]),
  claim_grace_ms = tonumber(ARGV[6]),
  session_timeout_ms = tonumber(ARGV[7]),
}

local function forget_identity(n)
  local id = redis.call('HGET', K_TIDENT, n)
  if not id then return end
  local held = redis.call('HGET', K_IDENT, id)
  if held and string.match(held, '^(%d+):') == tostring(n) then redis.call('HDEL', K_IDENT, id) end
  if redis.call('HGET', K_IDENT, 'b:' .. id) == tostring(n) then
    redis.call('HDEL', K_IDENT, 'b:' .. id)
  end
  redis.call('HDEL', K_TIDENT, n)
end

-- People in line: tickets above the frontier, less the places given back among them and the
-- tickets marked abandoned (which may come back).
local function waiting()
  return math.max(0, num('last') - num('front') - num('departed') - redis.call('ZCARD', K_ABAND))
end

-- Field i of the policy in force as the nodes encode it (store::EncodePolicy), a number; 0 when
-- it is not there (later fields are written only when set).
local function policy_number(i)
  local encoded = redis.call('HGET', K_ROOM, 'policy') or ''
  local at = 0
  for field in string.gmatch(encoded, '[^|]+') do
    at = at + 1
    if at == i then return tonumber(field) or 0 end
  end
  return 0
end

-- Waiting ticket n's next poll is due within `after_ms` from `now` (0: not watched).
local function expect_poll(n, now, after_ms)
  if after_ms > 0 then redis.call('ZADD', K_DUE, now + after_ms, n) end
end

-- The frontier reaches ticket n's place: true when it is passed without a call (given back, or
-- marked abandoned: counted), false when it is called. Either way it is no longer watched.
local function pass_over(n)
  redis.call('ZREM', K_DUE, n)
  if redis.call('HDEL', K_IDENT, 'w:' .. n) == 1 then
    redis.call('HINCRBY', K_ROOM, 'departed', -1)
    return true
  end
  if redis.call('ZREM', K_ABAND, n) == 1 then
    redis.call('HINCRBY', K_ROOM, 'abandoned', 1)
    forget_identity(n)
    return true
  end
  return false
end

-- The draw in use, read once per script: its first ticket and size (0: none).
local draw_first, draw_n
local function drawn_range()
  if not draw_n then
    draw_n = num('draw_n')
    draw_first = draw_n > 0 and num('draw_first') or 0
  end
  return draw_first, draw_n
end

-- The 4-byte little-endian number at index i (from 0) of `key`, after `skip` bytes.
local function offset_at(key, skip, i)
  local a, b, c, d = string.byte(redis.call('GETRANGE', key, skip + 4 * i, skip + 4 * i + 3), 1, 4)
  return a + b * 256 + c * 65536 + d * 16777216
end

-- Where ticket n stands in line (core::Room::PlaceOf): its number outside the draw.
local function place_of(n)
  local first, count = drawn_range()
  if count == 0 or n < first or n >= first + count then return n end
  return first + offset_at(K_DRAWP, 0, n - first)
end

-- Who stands at place p (core::Room::TicketOf).
local function ticket_of(p)
  local first, count = drawn_range()
  if count == 0 or p < first or p >= first + count then return p end
  return first + offset_at(K_DRAW, 8, p - first)
end

local function free_slot()
  return redis.call('ZCARD', K_SESS) + redis.call('ZCARD', K_CALLS) < P.max_active
end

-- The budget of core::RateBudget: uncapped accrual while people wait.
local function refill(now, demand)
  local tokens = tonumber(redis.call('HGET', K_ROOM, 'tokens') or tostring(P.burst))
  local last = tonumber(redis.call('HGET', K_ROOM, 'refill_ms') or tostring(now))
  local dt = math.max(0, now - last) / 1000
  if demand then
    tokens = math.min(tokens, P.burst) + P.admit_rate * dt
  else
    tokens = math.min(tokens + P.admit_rate * dt, P.burst)
  end
  redis.call('HSET', K_ROOM, 'refill_ms', now)
  return tokens
end

local function set_tokens(tokens)
  redis.call('HSET', K_ROOM, 'tokens', string.format('%.6f', tokens))
end

-- Upper bounds in ms of the session-length buckets 'sl1'..'sl11' of the room hash; 'sl12' holds
-- the longer ones and 'sl_ms' the lengths added up (core::kSessionLengthBoundsSeconds, whose
-- unit test reads this line).
local kSessionLengthBoundsMs = {10000, 30000, 60000, 120000, 300000, 600000, 900000, 1800000,
                                3600000, 7200000, 14400000}

-- Counts how long session n, ending at `now`, lasted (core::RoomCounters::session_lengths).
local function count_length(n, now)
  local admitted = tonumber(redis.call('HGET', K_SINFO, n) or '')
  if not admitted then return end
  local length = math.max(0, now - admitted)
  local b = 1
  while b <= #kSessionLengthBoundsMs and length > kSessionLengthBoundsMs[b] do b = b + 1 end
  redis.call('HINCRBY', K_ROOM, 'sl' .. b, 1)
  redis.call('HINCRBY', K_ROOM, 'sl_ms', length)
end

-- Ends session n (a leave, idleness, an operator) and counts it in `counter`: its slot is free,
-- its identity's hold on a ticket ends, and it is recorded as revoked for every node. Returns 1,
-- or 0 when there was no such session.
local function end_session(n, counter, now)
  if redis.call('ZREM', K_SESS, n) == 0 then return 0 end
  count_length(n, now)
  redis.call('HDEL', K_SINFO, n)
  redis.call('ZREM', K_SADM, n)
  forget_identity(n)
  redis.call('HINCRBY', K_ROOM, counter, 1)
  redis.call('ZADD', K_REVOKED, now, n)
  return 1
end

local function create_session(n, now, immediate)
  redis.call('ZADD', K_SESS, now, n)
  redis.call('HSET', K_SINFO, n, now)
  redis.call('ZADD', K_SADM, now, n)
  redis.call('HINCRBY', K_ROOM, 'admissions', 1)
  if immediate then redis.call('HINCRBY', K_ROOM, 'immediate', 1) end
end

local function issue_ticket(identity, frontier_at_join)
  local n = redis.call('HINCRBY', K_ROOM, 'last', 1)
  if identity ~= '' then
    redis.call('HSET', K_IDENT, identity, n .. ':' .. frontier_at_join)
    redis.call('HSET', K_TIDENT, n, identity)
  end
  return n
end

-- Where ticket n stands; claims it when called. Returns {status, n, admitted_ms, identity,
-- place (a waiting one's; else n)}.
local function resolve(n, now)
  local last, front = num('last'), num('front')
  if n == 0 or n > last then return {'expired', n, 0, ''} end
  local place = place_of(n)
  if place > front then
    if redis.call('HEXISTS', K_IDENT, 'w:' .. n) == 1 then return {'expired', n, 0, ''} end
    return {P.mode == 'reject' and 'rejected' or 'waiting', n, 0, '', place}
  end
  local called_at = redis.call('ZSCORE', K_CALLS, n)
  if called_at then
    redis.call('ZREM', K_CALLS, n)
    if tonumber(called_at) + P.claim_grace_ms <= now then
      redis.call('HINCRBY', K_ROOM, 'no_shows', 1)
      forget_identity(n)
      return {'expired', n, 0, ''}
    end
    create_session(n, now, false)
    return {'admitted', n, now, redis.call('HGET', K_TIDENT, n) or ''}
  end
  if redis.call('ZSCORE', K_SESS, n) then
    redis.call('ZADD', K_SESS, now, n)
    return {'admitted', n, tonumber(redis.call('HGET', K_SINFO, n) or now),
            redis.call('HGET', K_TIDENT, n) or ''}
  end
  forget_identity(n)
  return {'expired', n, 0, ''}
end

-- Whether ticket n's place is passed without a call when the frontier reaches it.
local function passed_over(n)
  return redis.call('HEXISTS', K_IDENT, 'w:' .. n) == 1 or redis.call('ZSCORE', K_ABAND, n)
end

-- Calls the next `count` places in line at `now`: the frontier passes them, each has
-- claim_grace to claim its place; places given back or abandoned on the way are passed over
-- without a call, at most kPassPerScript of them (core::Room::CallNext).
local function call_next(count, now)
  local front, last = num('front'), num('last')
  local start = front
  local called, passed = 0, 0
  while called < count and front < last and passed < kPassPerScript do
    front = front + 1
    local n = ticket_of(front)
    if pass_over(n) then
      passed = passed + 1
    else
      redis.call('ZADD', K_CALLS, now, n)
      called = called + 1
    end
  end
  -- Places given back or abandoned right behind the frontier are passed over now: nobody waits
  -- for them.
  while front < last and passed < kPassPerScript and passed_over(ticket_of(front + 1)) do
    front = front + 1
    pass_over(ticket_of(front))
    passed = passed + 1
  end
  if front ~= start then
    redis.call('HSET', K_ROOM, 'front', front)
    -- Every place of the draw passed: its tickets are called (by ticket) or gone, so their places
    -- are their numbers again as far as the frontier can tell, and the next draw may come. The
    -- nodes drop it at their next tick ('draw_v').
    local first, n = drawn_range()
    if n > 0 and front >= first + n - 1 then
      redis.call('HSET', K_ROOM, 'draw_n', 0)
      redis.call('HINCRBY', K_ROOM, 'draw_v', 1)
      redis.call('UNLINK', K_DRAW, K_DRAWP)
      draw_n, draw_first = 0, 0
    end
  end
end

-- Gives back place n before its session begins (core::Room::Withdraw): a waiting one leaves the
-- line, a called one gives its call up (its slot returns at once). Returns 1, or 0 when n is no
-- waiting or called place (or was given back already).
local function withdraw(n)
  n = tonumber(n)
  if not n then return 0 end
  if n > 0 and n <= num('last') and place_of(n) > num('front') then
    if redis.call('HSETNX', K_IDENT, 'w:' .. n, 1) == 0 then return 0 end
    redis.call('HINCRBY', K_ROOM, 'departed', 1)
    -- Counted once, as given back, not as abandoned as well.
    redis.call('ZREM', K_DUE, n)
    redis.call('ZREM', K_ABAND, n)
  elseif redis.call('ZREM', K_CALLS, n) == 0 then
    return 0
  end
  forget_identity(n)
  redis.call('HINCRBY', K_ROOM, 'withdrawn', 1)
  return 1
end

-- Whole admissions a budget of `tokens` allows (core::RateBudget::Available: the epsilon
-- absorbs floating-point error in rate * dt sums).
local function available(tokens)
  return math.floor(tokens + 1e-9)
end

-- The figures every answer carries, so that the node that asked sees its own change at once:
-- {last, front, waiting, active, called}.
local function figures()
  local last, front = num('last'), num('front')
  return {last, front, waiting(), redis.call('ZCARD', K_SESS), redis.call('ZCARD', K_CALLS)}
end

-- The admit_rate of a policy as the nodes encode it (store::EncodePolicy: 1|mode|max|rate|...).
local function encoded_rate(encoded)
  if not encoded then return nil end
  return tonumber(string.match(encoded, '^[^|]*|[^|]*|[^|]*|([^|]*)|'))
end

-- The policy in force becomes `encoded`. A new admit_rate restarts the advance-rate estimate
-- from it, as core::Room::ApplyPolicy resets its estimator.
local function use_policy(encoded)
  local rate = encoded_rate(encoded)
  if rate and rate ~= encoded_rate(redis.call('HGET', K_ROOM, 'policy')) then
    redis.call('HSET', K_ROOM, 'rate', string.format('%.6f', rate))
  end
  redis.call('HSET', K_ROOM, 'policy', encoded)
end

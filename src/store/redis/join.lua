-- Joins: as many as the node gathered while its previous joins of the room were on their way
-- (RedisRoom::Join), so that under a flood Redis runs one script per round trip, not one per
-- join; a lone join is a batch of one. ARGV[8] = how many joins (n), ARGV[9] = most tickets to
-- call at once, ARGV[10] = how long a new waiting ticket may stay silent before it is abandoned,
-- in ms (the node works it out from the wait it tells a newcomer; given even while abandonment
-- is off), ARGV[10 + i] = the identity of join i ('' for none). The joins are made in order,
-- each as if it were a script of its own.
-- Returns one answer per join, in order: {status, ticket, frontier_at_join, admitted_ms,
--          identity, last, front, waiting, active, called, place (where a waiting ticket
--          stands: its number, unless the opening draw moved it)}.
local max_call = tonumber(ARGV[9])
local silent_ms = tonumber(ARGV[10]) or 0
local now = now_ms()
local function answer(r, faj)
  local f = figures()
  return {r[1], r[2], faj, r[3], r[4], f[1], f[2], f[3], f[4], f[5], r[5] or r[2]}
end

local function join_one(identity)
  if identity ~= '' then
    local held = redis.call('HGET', K_IDENT, identity)
    if held then
      local n, faj = string.match(held, '^(%d+):(%d+)$')
      local r = resolve(tonumber(n), now)
      if r[1] ~= 'expired' then
        if r[1] ~= 'rejected' then redis.call('HINCRBY', K_ROOM, 'rejoins', 1) end
        return answer(r, tonumber(faj))
      end
    end
  end

  local function admit_now()
    -- Nobody is waiting, so the frontier moves to this very ticket.
    local n = issue_ticket(identity, num('last') + 1)
    redis.call('HSET', K_ROOM, 'front', n)
    redis.call('HINCRBY', K_ROOM, 'joins', 1)
    create_session(n, now, true)
    return answer({'admitted', n, now, identity}, n)
  end

  if P.mode == 'reject' then
    redis.call('HINCRBY', K_ROOM, 'rejected', 1)
    return answer({'rejected', 0, 0, ''}, 0)
  elseif P.mode == 'passthrough' then
    -- Anyone still waiting from before the switch is called first, so the range stays whole
    -- (core::Room::Join). A line too long to call in one script is left to the ticks.
    if waiting() <= max_call then
      call_next(waiting(), now)
      return admit_now()
    end
  elseif P.mode == 'fifo' and waiting() == 0 then
    local tokens = refill(now, false)
    if available(tokens) >= 1 and free_slot() then
      set_tokens(tokens - 1)
      return admit_now()
    end
    set_tokens(tokens)
  end

  if P.queue_limit > 0 and waiting() >= P.queue_limit then
    redis.call('HINCRBY', K_ROOM, 'full', 1)
    return answer({'full', 0, 0, ''}, 0)
  end
  redis.call('HINCRBY', K_ROOM, 'joins', 1)
  local front = num('front')
  local n = issue_ticket(identity, front)
  expect_poll(n, now, silent_ms)
  return answer({'waiting', n, 0, ''}, front)
end

local out = {}
for i = 1, tonumber(ARGV[8]) do
  out[i] = join_one(ARGV[10 + i])
end
return out

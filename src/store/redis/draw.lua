-- The opening draw (core::Room::Draw): from now on the waiting tickets first..last are called in
-- the drawn order. ARGV[8] = the order as the draw key keeps it (first, 8 bytes little-endian,
-- then for each place first + i the ticket there less first, 4 bytes little-endian), ARGV[9] =
-- the same the other way (for each ticket first + i its place less first): the node sends both,
-- and this script checks that they agree, which they do only for a permutation of first..last
-- (no table of a million entries is built while Redis waits).
-- Refused (nothing changes) unless the order is such a permutation of at most kMaxDrawnTickets,
-- every ticket of it is issued and still waiting (first above the frontier: none was called),
-- and no earlier draw is in use (its places not all passed, or a call of it not yet claimed).
-- Whoever had not polled for a while gets a whole allowance from now (the poll deadlines told so
-- far were for the old places): nobody is marked abandoned before it, as when
-- abandon_after_polls changes (tick.lua).
-- Returns {1, or 0 when refused, why ('' when taken), the draw's version, last, front, waiting,
--          active, called}.
local order, places = ARGV[8], ARGV[9]
local kMaxDrawnTickets = 1000000  -- core::kMaxDrawnTickets
local function answer(taken, why)
  local f = figures()
  return {taken, why, num('draw_v'), f[1], f[2], f[3], f[4], f[5]}
end
if #order < 12 or (#order - 8) % 4 ~= 0 or #places ~= #order - 8 then
  return answer(0, 'malformed')
end
local count = (#order - 8) / 4
if count > kMaxDrawnTickets then return answer(0, 'more than ' .. kMaxDrawnTickets .. ' tickets') end
local first = 0
for i = 8, 1, -1 do first = first * 256 + string.byte(order, i) end
if first < 1 then return answer(0, 'no first ticket') end
local front, last = num('front'), num('last')
if first <= front then return answer(0, 'a ticket of it has been called') end
if first + count - 1 > last then return answer(0, 'a ticket of it has not been issued') end
local _, in_use = drawn_range()
if in_use > 0 then return answer(0, 'an earlier draw is in use') end
-- The places of an earlier draw are all passed; its calls must be claimed (or not) too, as in
-- core::Room (a second opening waits until the first is settled).
local before_first, before_last = num('draw_first'), num('draw_last')
if before_last > 0 then
  for _, t in ipairs(redis.call('ZRANGE', K_CALLS, 0, -1)) do
    local n = tonumber(t)
    if n and n >= before_first and n <= before_last then
      return answer(0, 'an earlier draw is in use')
    end
  end
end
-- Place i holds ticket t, and ticket t's place is i, for every i: no ticket twice, none outside
-- the range, hence every one of them once.
local byte = string.byte
for i = 0, count - 1 do
  local a, b, c, d = byte(order, 9 + 4 * i, 12 + 4 * i)
  local t = a + b * 256 + c * 65536 + d * 16777216
  if t >= count then return answer(0, 'not a permutation of the range') end
  local e, f, g, h = byte(places, 1 + 4 * t, 4 + 4 * t)
  if e + f * 256 + g * 65536 + h * 16777216 ~= i then
    return answer(0, 'not a permutation of the range')
  end
end
redis.call('SET', K_DRAW, order)
redis.call('SET', K_DRAWP, places)
redis.call('HSET', K_ROOM, 'draw_first', first, 'draw_last', first + count - 1, 'draw_n', count)
redis.call('HINCRBY', K_ROOM, 'draw_v', 1)
-- (core::Room::UseDraw pardons everyone in line; abandon_after_polls is the 12th field of the
-- policy in force, poll.max its 10th; core::SilenceAllowedMs.)
redis.call('HSET', K_ROOM, 'sweep_from',
           now_ms() + math.ceil(math.max(policy_number(12), 1) * policy_number(10) * 1.1) + 100)
redis.call('UNLINK', K_ABAND)
return answer(1, '')

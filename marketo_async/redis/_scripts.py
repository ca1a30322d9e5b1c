"""The Lua scripts: each runs atomically inside Redis and reads Redis's own clock (TIME).

Times are seconds as doubles; values going back to Python are strings, because Redis truncates
Lua numbers to integers.
"""

from __future__ import annotations

import attrs

__all__ = [
    "ACQUIRE_KEYS",
    "ACQUIRE_SLOT",
    "COUNT_SLOTS",
    "DISCARD_TOKEN",
    "EPOCH_CHANGED",
    "EPOCH_HOLD",
    "LEARNED_WITHIN",
    "LEARN_USAGE",
    "LOAD_TOKEN",
    "LOCK",
    "PING",
    "RELEASE_KEYS",
    "RELEASE_SLOT",
    "RENEW_KEYS",
    "RENEW_SLOT",
    "SAVE_TOKEN",
    "UNLOCK",
    "Script",
]


@attrs.frozen
class Script:
    name: str
    text: str


_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
"""

# The fleet's epoch: an id Redis keeps as long as it keeps its data. A restarted Redis has
# lost its window, slots and key leases with it; every caller remembers the epoch it saw
# last, so each one notices the restart at its next acquisition, not only one that saw the
# outage. Then nothing is admitted and no key is leased until ``hold`` seconds after the new
# epoch began: the calls of the lost window have left Marketo's, and the holders of lost
# slots and keys have renewed (which takes them back).
# The guard's key and arguments come LAST in a script's KEYS and ARGV:
# KEYS[#KEYS]: the epoch hash. ARGV[#ARGV - 2]: the caller's epoch ('' at first);
# ARGV[#ARGV - 1]: an id for a new epoch; ARGV[#ARGV]: the hold after a restart (seconds).
# Returns {-1, epoch} to a caller whose epoch is not Redis's (it adopts it and asks again),
# {-2, seconds} while the hold lasts.
EPOCH_CHANGED, EPOCH_HOLD = -1, -2
_EPOCH_GUARD = """
local epoch_key = KEYS[#KEYS]
local mine = ARGV[#ARGV - 2]
local epoch = redis.call('HGET', epoch_key, 'id')
if not epoch then
  epoch = ARGV[#ARGV - 1]
  redis.call('HSET', epoch_key, 'id', epoch, 'since', string.format('%.6f', now))
end
if mine ~= epoch then
  if mine ~= '' then
    local hold = tonumber(redis.call('HGET', epoch_key, 'since')) + tonumber(ARGV[#ARGV])
    if hold > tonumber(redis.call('HGET', epoch_key, 'hold') or '0') then
      redis.call('HSET', epoch_key, 'hold', string.format('%.6f', hold))
    end
  end
  return {-1, epoch}
end
local hold_until = tonumber(redis.call('HGET', epoch_key, 'hold') or '0')
if hold_until > now then
  return {-2, string.format('%.6f', hold_until - now)}
end
"""

# Background calls' window entries and slots are also kept in their own sets (``window:bg``,
# ``slots:bg``); ``interactive`` exists (with an expiry of ``idle_after``) while interactive
# calls are around, and ``waiting`` holds the interactive calls of the fleet that wait, each
# scored with the time its entry lapses unless it asks again.

# Keep a key at least ``ms`` milliseconds (never shorten what another caller set).
_EXTEND = """
local function extend(key, ms)
  if redis.call('PTTL', key) < ms then
    redis.call('PEXPIRE', key, ms)
  end
end
"""

# Today's key among the three days (day before, day, day after: KEYS from ``key``), by the
# server's clock; ARGV from ``arg`` holds the three days' [start, end). The day is Marketo's
# (midnight US Central).
_TODAY = """
local function today(key, arg)
  local day = KEYS[key + 1]
  for i = 0, 2 do
    if now >= tonumber(ARGV[arg + 2 * i]) and now < tonumber(ARGV[arg + 1 + 2 * i]) then
      day = KEYS[key + i]
    end
  end
  return day
end
"""

# KEYS: window, slots, pause, day-before, day, day-after, window:bg, slots:bg, interactive,
#       waiting, epoch
# ARGV: calls, span, concurrency, lease, lease id, pause, daily quota (0: none), slot poll,
#       then [start, end) of each of the three days, then the lane ("interactive",
#       "background", or "off" when lanes are off), the places and slots background calls
#       leave free while interactive calls are around, idle_after, and how long a waiting
#       interactive call's entry outlives its next ask, then the epoch guard's three.
# Returns {status, value}: 0 paused (wait), 1 slots full (wait), 2 window full (wait),
# 3 quota spent (calls used), 4 admitted (slots held fleet-wide), 5 a background call yields
# to interactive ones (wait), or the epoch guard's.
ACQUIRE_SLOT = Script(
    "acquire-slot",
    _NOW
    + _EPOCH_GUARD
    + _EXTEND
    + _TODAY
    + """
local calls = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local concurrency = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local pause = tonumber(ARGV[6])
local quota = tonumber(ARGV[7])
local poll = tonumber(ARGV[8])
local interactive = ARGV[15] == 'interactive'
local background = ARGV[15] == 'background'
local reserved_calls = tonumber(ARGV[16])
local reserved_slots = tonumber(ARGV[17])
local idle_after = tonumber(ARGV[18])
local grace = tonumber(ARGV[19])

if interactive and idle_after > 0 then
  redis.call('SET', KEYS[9], string.format('%.6f', now), 'PX', math.ceil(idle_after * 1000))
end

-- An interactive call that must wait says so: background calls of the whole fleet let it go
-- first.
local function wait(status, seconds)
  if interactive then
    redis.call('ZADD', KEYS[10], now + seconds + grace, ARGV[5])
    extend(KEYS[10], math.ceil((seconds + grace) * 1000) + 1000)
  end
  return {status, string.format('%.6f', seconds)}
end

local paused_until = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > 0 and now + pause > paused_until then
  paused_until = now + pause
  redis.call('SET', KEYS[3], string.format('%.6f', paused_until),
             'PX', math.ceil(pause * 1000) + 1000)
end
if paused_until > now then
  return wait(0, paused_until - now)
end

-- A lease's score is its expiry: a crashed holder's slot frees itself here.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now)
local busy = redis.call('ZCARD', KEYS[2])
if busy >= concurrency then
  local soonest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return wait(1, math.min(tonumber(soonest[2]) - now, poll))
end

-- A window entry's score is when its call ended (open calls: their lease expiry, in the
-- future): Marketo counts arrivals, which come no later than the end.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - span)
if redis.call('ZCARD', KEYS[1]) >= calls then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return wait(2, math.min(tonumber(oldest[2]) + span - now, poll))
end

if background then
  redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', now)
  if redis.call('ZCARD', KEYS[10]) > 0 then
    return {5, string.format('%.6f', poll)}
  end
  local around = redis.call('PTTL', KEYS[9])
  if around > 0 then
    local lapses = around / 1000
    if redis.call('ZCARD', KEYS[8]) >= concurrency - reserved_slots then
      return {5, string.format('%.6f', math.min(lapses, poll))}
    end
    if redis.call('ZCARD', KEYS[7]) >= calls - reserved_calls then
      local oldest = redis.call('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')
      local frees = tonumber(oldest[2]) + span - now
      return {5, string.format('%.6f', math.min(frees, lapses, poll))}
    end
  end
end

if quota > 0 then
  local day = today(4, 9)
  local used = tonumber(redis.call('GET', day) or '0')
  if used >= quota then
    return {3, tostring(used)}
  end
  redis.call('INCR', day)
  redis.call('EXPIRE', day, 3 * 86400)
end

redis.call('ZADD', KEYS[1], now + lease, ARGV[5])
redis.call('ZADD', KEYS[2], now + lease, ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.ceil((span + lease) * 1000) + 1000)
redis.call('PEXPIRE', KEYS[2], math.ceil(lease * 1000) + 1000)
if interactive then
  redis.call('ZREM', KEYS[10], ARGV[5])
elseif background then
  redis.call('ZADD', KEYS[7], now + lease, ARGV[5])
  redis.call('ZADD', KEYS[8], now + lease, ARGV[5])
  redis.call('PEXPIRE', KEYS[7], math.ceil((span + lease) * 1000) + 1000)
  redis.call('PEXPIRE', KEYS[8], math.ceil(lease * 1000) + 1000)
end
return {4, tostring(busy + 1)}
""",
)

# KEYS: slots, window, slots:bg, window:bg. ARGV: lease, lease id, span, "background" for a
# background call. Returns 1 when renewed, 0 when the lease was lost and taken back: the call
# is still in flight, so its slot and its window entry count again (after a Redis restart
# emptied both, or a blocked event loop let it lapse), in its lane's sets too.
RENEW_SLOT = Script(
    "renew-slot",
    _NOW
    + """
local lease = tonumber(ARGV[1])
local had = redis.call('ZSCORE', KEYS[1], ARGV[2])
local last = 2
if ARGV[4] == 'background' then
  last = 4
end
for i = 1, last, 2 do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[2])
  redis.call('ZADD', KEYS[i + 1], now + lease, ARGV[2])
  redis.call('PEXPIRE', KEYS[i + 1], math.ceil((tonumber(ARGV[3]) + lease) * 1000) + 1000)
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < lease * 1000 + 1000 then
    redis.call('PEXPIRE', KEYS[i], math.ceil(lease * 1000) + 1000)
  end
end
if had then
  return 1
end
return 0
""",
)

# KEYS: slots, window, slots:bg, window:bg, interactive. ARGV: lease id, idle_after.
# The call ended now: that is its window entry's time; an interactive call's end keeps the
# reserve up for another idle_after.
RELEASE_SLOT = Script(
    "release-slot",
    _NOW
    + """
redis.call('ZADD', KEYS[2], 'XX', now, ARGV[1])
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('ZADD', KEYS[4], 'XX', now, ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
elseif tonumber(ARGV[2]) > 0 and redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('SET', KEYS[5], string.format('%.6f', now), 'PX', math.ceil(tonumber(ARGV[2]) * 1000))
end
return redis.call('ZREM', KEYS[1], ARGV[1])
""",
)

# KEYS: slots, window, day before, day, day after. ARGV: span, then the days' [start, end).
# Returns {slots held, calls in the window, calls today}.
COUNT_SLOTS = Script(
    "count-slots",
    _NOW
    + _TODAY
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[1]))
local day = today(3, 2)
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]),
        tonumber(redis.call('GET', day) or '0')}
""",
)

# KEYS: day-before, day, day-after, learned. ARGV: total (the instance's count, from
# stats/usage), the day's count when the read was sent, then [start, end) of the three days.
# Raises the day's count to the total plus the fleet's calls since the read was sent (never
# lowers it) and records when and at which count the fleet learned. Returns the new count.
LEARN_USAGE = Script(
    "learn-usage",
    _NOW
    + _TODAY
    + """
local day = today(1, 3)
local used = tonumber(redis.call('GET', day) or '0')
local since = math.max(used - tonumber(ARGV[2]), 0)
local learned = math.max(used, tonumber(ARGV[1]) + since)
redis.call('SET', day, learned, 'EX', 3 * 86400)
redis.call('SET', KEYS[4], day .. ' ' .. string.format('%.6f', now) .. ' ' .. learned,
           'EX', 86400)
return tostring(learned)
""",
)

# KEYS: day-before, day, day-after, learned. ARGV: seconds, calls, then [start, end) of the
# three days. Returns 1 when the fleet learned today's count less than ``seconds`` ago and
# fewer than ``calls`` calls ago, else 0.
LEARNED_WITHIN = Script(
    "learned-within",
    _NOW
    + _TODAY
    + """
local day = today(1, 3)
local record = redis.call('GET', KEYS[4])
if not record then
  return 0
end
local learned_day, at, count = string.match(record, '^(%S+) (%S+) (%S+)$')
if learned_day ~= day then
  return 0
end
local used = tonumber(redis.call('GET', day) or '0')
if now - tonumber(at) < tonumber(ARGV[1]) and used - tonumber(count) < tonumber(ARGV[2]) then
  return 1
end
return 0
""",
)

# KEYS: token. Returns {token, expires_at} or an empty list.
LOAD_TOKEN = Script("load-token", "return redis.call('HMGET', KEYS[1], 'token', 'expires_at')")

# KEYS: token. ARGV: token, expires_at (epoch seconds).
SAVE_TOKEN = Script(
    "save-token",
    """
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'expires_at', ARGV[2])
redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(ARGV[2])))
return 1
""",
)

# KEYS: token. ARGV: the refused token.
DISCARD_TOKEN = Script(
    "discard-token",
    """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""",
)

# KEYS: lock. ARGV: owner, expiry (ms). Returns 1 when taken.
LOCK = Script(
    "lock",
    """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
""",
)

# KEYS: lock. ARGV: owner.
UNLOCK = Script(
    "unlock",
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""",
)

# KEYS[1..last] are lease keys, ARGV[1] the owner, ARGV[2] the expiry (ms): each key free or
# already the owner's is (re)taken for the expiry. Returns the 1-based positions now held.
_HOLD_KEYS = """
local function hold_keys(last)
  local held = {}
  for i = 1, last do
    local key = KEYS[i]
    if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
      held[#held + 1] = i
    elseif redis.call('GET', key) == ARGV[1] then
      redis.call('PEXPIRE', key, ARGV[2])
      held[#held + 1] = i
    end
  end
  return held
end
"""

# KEYS: one lease key per record key, then the epoch. ARGV: owner, expiry (ms), then the
# epoch guard's three. Returns the 1-based positions of the keys now held by owner (or the
# epoch guard's answer, whose first entry is negative).
ACQUIRE_KEYS = Script(
    "acquire-keys",
    _NOW
    + _EPOCH_GUARD
    + _HOLD_KEYS
    + """
return hold_keys(#KEYS - 1)
""",
)

# KEYS: lease keys. ARGV: owner, expiry (ms). Returns the positions still held.
# A lease that vanished while held (Redis restarted empty) is taken back if nobody else took
# it: the holder's call may still be in flight. Others wait a lease period after an outage
# before taking new keys, so the holders renew (and take back) first.
RENEW_KEYS = Script(
    "renew-keys",
    _HOLD_KEYS
    + """
return hold_keys(#KEYS)
""",
)

# Is Redis there? (Asked while an outage lasts, so that asking takes nothing.)
PING = Script("ping", "return 1")

# KEYS: lease keys. ARGV: owner.
RELEASE_KEYS = Script(
    "release-keys",
    """
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    released = released + redis.call('DEL', key)
  end
end
return released
""",
)

-- engine.lua - subguard's Redis-side engine: windows, limits, quarantine.
--
-- One script, loaded once and called by SHA (EVALSHA) from every subguard
-- node, so that all nodes sharing a Redis count one account as one. All
-- keys of a call belong to one account and share its {LOGIN} hash tag.
-- The time is an argument: the daemon passes the wall clock, the replay
-- passes the trace's clock.
--
-- ARGV[1] names the operation:
--
-- begin   at MAIL FROM: may this account send a message, and how many
--         recipients? Counts nothing but refused attempts.
--   KEYS  tier, quarantine, counters
--   ARGV  "begin", now, default_tier, refuse_quarantined (1|0), TIERS...
--   reply status (ok|hold|messages|quarantined), tier, unknown_tier,
--         budget (-1: no limit), rcpt_limit, rcpt_secs, rcpt_retry,
--         msg_limit, msg_secs, msg_retry, quarantine_reason,
--         rcpts_in_window, msgs_in_window
--
-- commit  at end of message (or abort): count what happened and decide
--         about quarantine and holding.
--   KEYS  quarantine, counters, held, qid
--   ARGV  "commit", now, login, qid, accepted, rejected, refused,
--         message (1: a message was accepted), hold (1|0), hold_max,
--         qid_ttl, held_ttl, TIER
--   reply action (accept|hold|refuse), newly_quarantined (1|0), reason,
--         held_count
--
-- TIER is a tier's name followed by four lists (messages, recipients,
-- quarantine_recipients, quarantine_rejected), each a count n and n pairs
-- limit, seconds. TIERS is any number of TIERs.
--
-- The counters hash holds, for each window length S in use, the count of
-- the current fixed bucket of S seconds (field kindS) and of the previous
-- one (kindSp); kind is m (messages), r (recipients accepted) or x
-- (recipients the MTA rejected). The number in a sliding window is
-- estimated as cur + prev * (share of the previous bucket still inside
-- the window). Field t is the time of the last update, which tells which
-- bucket the stored counts belong to. msgs, rcpts, rejected and refused
-- are totals while the key lives; q is set while the account is
-- quarantined (see load). The key expires after twice its longest
-- window without traffic.

local op = ARGV[1]
local now = tonumber(ARGV[2])

-- read_tier - parse one TIER starting at ARGV[i]; returns it and next i
local function read_tier(i)
  local t = {name = ARGV[i]}
  i = i + 1
  for _, list in ipairs({'m', 'r', 'qr', 'qx'}) do
    local n = tonumber(ARGV[i])
    local w = {}
    i = i + 1
    for j = 1, n do
      w[j] = {limit = tonumber(ARGV[i]), secs = tonumber(ARGV[i + 1])}
      i = i + 2
    end
    t[list] = w
  end
  return t, i
end

-- load - the counters hash as a table, and the time it was last updated.
-- Field q marks that subguard quarantined the account. If the quarantine
-- hash is gone while q is set, support lifted it: the evidence that led
-- there has been judged, so the windows start afresh (totals stay).
local function load(key, quarantined)
  local flat = redis.call('HGETALL', key)
  local h = {}
  for k = 1, #flat, 2 do
    h[flat[k]] = flat[k + 1]
  end
  if h.q and not quarantined then
    local kept = {}
    for _, f in ipairs({'msgs', 'rcpts', 'rejected', 'refused'}) do
      kept[f] = h[f]
    end
    return kept, now, true
  end
  return h, tonumber(h.t) or now, false
end

-- window - counts of one window rotated to now: cur, prev, estimate, bucket
local function window(h, last, kind, secs)
  local cur = tonumber(h[kind .. secs]) or 0
  local prev = tonumber(h[kind .. secs .. 'p']) or 0
  local bl, bn = math.floor(last / secs), math.floor(now / secs)
  if bn == bl + 1 then
    prev, cur = cur, 0
  elseif bn > bl + 1 then
    prev, cur = 0, 0
  end
  -- A node whose clock lags (bn < bl) keeps the newer bucket as it is.
  local frac = math.min(math.max((now - bn * secs) / secs, 0), 1)
  return cur, prev, cur + prev * (1 - frac), bn
end

-- retry_after - seconds until the estimate admits one more event
local function retry_after(cur, prev, bn, secs, limit)
  local need = limit - 1
  local fnow = (now - bn * secs) / secs
  if cur <= need and prev > 0 then
    return math.max(1, math.ceil((1 - (need - cur) / prev - fnow) * secs))
  end
  local f = 0
  if cur > 0 then
    f = math.max(0, 1 - need / cur)
  end
  return math.max(1, math.ceil((1 - fnow + f) * secs))
end

-- check - the tightest window of a list: room left, limit, secs, retry, est
local function check(h, last, kind, wins)
  local best = nil
  for _, w in ipairs(wins) do
    local cur, prev, est, bn = window(h, last, kind, w.secs)
    local room = math.floor(w.limit - est + 1e-9)
    if room < 0 then
      room = 0
    end
    if best == nil or room < best[1] then
      best = {room, w.limit, w.secs, retry_after(cur, prev, bn, w.secs, w.limit),
              math.floor(est + 0.5)}
    end
  end
  return best
end

-- human - 3600 -> "1h", for the texts support staff read in Redis
local function human(secs)
  for _, u in ipairs({{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}}) do
    if secs >= u[1] and secs % u[1] == 0 then
      return (secs / u[1]) .. u[2]
    end
  end
  return secs .. 's'
end

-- ttl_of - how long a counters hash lives without traffic
local function ttl_of(tier)
  local longest = 3600
  for _, list in ipairs({'m', 'r', 'qr', 'qx'}) do
    for _, w in ipairs(tier[list]) do
      longest = math.max(longest, w.secs)
    end
  end
  return 2 * longest
end

-- refused - count an attempt that subguard itself turned away
local function refused(key, tier, n)
  redis.call('HINCRBY', key, 'refused', n)
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ttl_of(tier))
  end
end

if op == 'begin' then
  local requested = redis.call('GET', KEYS[1])
  local default, unknown, tier = ARGV[3], '', nil
  local i, t = 5, nil
  local fallback = nil
  while i <= #ARGV do
    t, i = read_tier(i)
    if requested and t.name == requested then
      tier = t
    end
    if t.name == default then
      fallback = t
    end
  end
  if tier == nil then
    if requested then
      unknown = requested
    end
    tier = fallback
  end
  if tier == nil then
    return redis.error_reply('default tier ' .. default .. ' not in the request')
  end

  local qreason = ''
  if redis.call('EXISTS', KEYS[2]) == 1 then
    qreason = redis.call('HGET', KEYS[2], 'reason') or 'unknown'
    if qreason == '' then
      qreason = 'unknown'
    end
  end
  local h, last = load(KEYS[3], qreason ~= '')
  local r = check(h, last, 'r', tier.r) or {-1, 0, 0, 0, 0}
  local m = check(h, last, 'm', tier.m) or {-1, 0, 0, 0, 0}
  local status = 'ok'
  if qreason ~= '' and ARGV[4] == '1' then
    status = 'quarantined'
    refused(KEYS[3], tier, 1)
  elseif m[1] == 0 then
    status = 'messages'
    refused(KEYS[3], tier, 1)
  elseif qreason ~= '' then
    status = 'hold'
  end
  return {status, tier.name, unknown, r[1], r[2], r[3], r[4],
          m[2], m[3], m[4], qreason, r[5], m[5]}
end

if op == 'commit' then
  local login, qid = ARGV[3], ARGV[4]
  local accepted, rejected, nrefused = tonumber(ARGV[5]), tonumber(ARGV[6]),
                                       tonumber(ARGV[7])
  local message, hold = tonumber(ARGV[8]), ARGV[9] == '1'
  local hold_max, qid_ttl, held_ttl = tonumber(ARGV[10]), tonumber(ARGV[11]),
                                      tonumber(ARGV[12])
  local tier = read_tier(13)
  local quarantined = redis.call('EXISTS', KEYS[1]) == 1
  local h, last = load(KEYS[2], quarantined)

  -- Rotate every window in use to now and add this message's counts. One
  -- window length may serve two lists (recipients and their ceiling).
  local out = {'t', now}
  local est = {}
  local function count(kind, lists, n)
    local seen = {}
    for _, wins in ipairs(lists) do
      for _, w in ipairs(wins) do
        if not seen[w.secs] then
          seen[w.secs] = true
          local cur, prev, e = window(h, last, kind, w.secs)
          est[kind .. w.secs] = e + n
          out[#out + 1] = kind .. w.secs
          out[#out + 1] = cur + n
          out[#out + 1] = kind .. w.secs .. 'p'
          out[#out + 1] = prev
        end
      end
    end
  end
  count('m', {tier.m}, message)
  count('r', {tier.r, tier.qr}, accepted)
  count('x', {tier.qx}, rejected)
  local total = {}
  for _, f in ipairs({{'msgs', message}, {'rcpts', accepted},
                      {'rejected', rejected}, {'refused', nrefused}}) do
    total[f[1]] = (tonumber(h[f[1]]) or 0) + f[2]
    out[#out + 1] = f[1]
    out[#out + 1] = total[f[1]]
  end
  -- Quarantine: a ceiling far above the sending limits, or too many
  -- recipients that the MTA itself refused.
  local newly, reason = 0, ''
  if not quarantined then
    local function over(kind, wins, what)
      for _, w in ipairs(wins) do
        local e = est[kind .. w.secs]
        if e > w.limit then
          return string.format('%d %s in %s (quarantine threshold %d)',
                               math.floor(e + 0.5), what, human(w.secs), w.limit)
        end
      end
      return nil
    end
    reason = over('x', tier.qx, 'recipients rejected by the MTA')
             or over('r', tier.qr, 'recipients') or ''
    if reason ~= '' then
      quarantined, newly = true, 1
      redis.call('HSET', KEYS[1], 'since', math.floor(now), 'reason', reason,
                 'by', 'subguard', 'tier', tier.name, 'qid', qid,
                 'rcpts', total.rcpts, 'rejected', total.rejected)
    end
  else
    reason = redis.call('HGET', KEYS[1], 'reason') or ''
  end
  if quarantined then
    out[#out + 1] = 'q'
    out[#out + 1] = h.q or math.floor(now)
  end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], unpack(out))
  redis.call('EXPIRE', KEYS[2], ttl_of(tier))

  if message == 1 and qid ~= '' then
    redis.call('SET', KEYS[4], login, 'EX', qid_ttl)
  end
  local action = 'accept'
  local nheld = redis.call('LLEN', KEYS[3])
  if quarantined and message == 1 then
    action = 'refuse'
    if hold and nheld < hold_max then
      action = 'hold'
      nheld = redis.call('RPUSH', KEYS[3], qid ~= '' and qid or 'unknown')
      redis.call('EXPIRE', KEYS[3], held_ttl)
    end
  end
  return {action, newly, reason, nheld}
end

return redis.error_reply('unknown operation ' .. tostring(op))

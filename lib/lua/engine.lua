-- engine.lua - subguard's Redis-side engine: windows, limits, detection.
--
-- One script, loaded once and called by SHA (EVALSHA) from every subguard
-- node and the log feed, so that all of them count one account as one.
-- Each call is atomic. The time is an argument: the daemon passes the
-- wall clock, the replay passes the trace's clock.
--
-- ARGV[1] names the operation; TIER and TIERS are described below.
--
-- begin    at MAIL FROM: may this account send a message, and how many
--          recipients? Counts nothing but refused attempts.
--   KEYS   tier, quarantine, counters
--   ARGV   "begin", now, default_tier, refuse_quarantined (1|0), TIERS
--   reply  status (ok|hold|messages|quarantined), tier, unknown_tier,
--          budget (-1: no limit), rcpt_limit, rcpt_secs, rcpt_retry,
--          msg_limit, msg_secs, msg_retry, quarantine_reason,
--          rcpts_in_window, msgs_in_window, quarantine_room (recipients
--          the account may still send before quarantine_recipients
--          quarantines it; -1: no such limit)
--
-- commit   at end of message (or abort): count what happened, run the
--          detection, decide whether this message is held.
--   KEYS   quarantine, counters, held, qid, events
--   ARGV   "commit", now, login, qid, accepted, rejected, refused,
--          message (1: a message was accepted), hold (1|0), hold_max,
--          qid_ttl, held_ttl, tags (of the rejected recipients), TIER
--   reply  action (accept|hold|refuse), newly_quarantined (1|0), reason,
--          held_count (0 unless quarantined), seen ("lift" or "tier OLD
--          NEW" when support lifted a quarantine or changed the tier
--          since the last update, else "")
--
-- outcome  a final delivery outcome from the MTA's log (the feed, or the
--          replay): nrcpt recipients of queue id qid bounced. The login and
--          the time the message was sent are looked up from the qid key
--          that commit wrote ("LOGIN TIME"); the account's keys are then
--          derived here, so this operation needs a single Redis, not a
--          Cluster. The feed's position is saved in the same call, so a
--          restarted feed neither loses nor double counts a line, and a
--          line sent again after a timeout (Redis ran it, the answer was
--          late) is recognised by its position and not counted twice.
--   KEYS   qid, position, events
--   ARGV   "outcome", now, prefix, class, nrcpt, position, default_tier,
--          tag (of the first recipient, or ""), TIERS
--   reply  login ("" if the qid is unknown), newly_quarantined, reason, seen
--          With class "none" only the position is saved.
--
-- position where a feed stopped: KEYS position; ARGV "position", 0.
--
-- TIER is two arguments: a tier's name, and its numbers as one JSON
-- object: five window lists "m" (messages), "r" (recipients), "qr"
-- (quarantine_recipients), "qx" (quarantine_rejected) and "qf"
-- (quarantine_failed), each a list of [limit, seconds], and "d", the
-- detection's numbers [lf, ls, upper, lower] (see "Detection"). TIERS
-- is any number of TIERs. Only the tier in use is decoded.
--
-- Counting. The counters hash holds, for each window length S in use,
-- the count of the current fixed bucket of S seconds (field kindS) and of
-- the previous one (kindSp). kind is m (messages), r (recipients
-- accepted), x (recipients the MTA rejected at submission) or b (accepted
-- recipients that bounced later). A sliding window's count is estimated
-- as cur + prev * (share of the previous bucket still inside the window).
-- t is the time of the last update, which tells which bucket the stored
-- counts belong to. msgs, rcpts, rejected, bounced, policy and refused
-- are totals while the key lives; s is the detection score; fq the last
-- queue ids with failures; fr tags of the last failing addresses; tn
-- the tier last used; q is set while the
-- account is quarantined (see load). The key expires after twice its
-- longest window without traffic.
--
-- Detection. A sequential probability ratio test over recipient
-- outcomes: an accepted recipient is presumed delivered (evidence for a
-- normal sender, ls < 0 added to the score s); a recipient the MTA
-- rejects is a failure (lf > 0); a bounce read from the log turns a
-- presumed delivery into a failure (lf - ls). When s falls below the
-- lower bound the evidence is reset to that bound, so a long clean
-- history cannot bank credit against a sudden spam run. Crossing the
-- upper bound quarantines, but only if the same test run over the
-- outcomes of the last hour or of the last day alone also crosses it
-- (F failures of N recipients weigh F lf + (N - F) ls): bounces arrive
-- after the deliveries they offset, so the order of s can mislead, while
-- a window, where each bounce counts in the bucket of its message, holds
-- the failures and the recipients they came from. quarantine_failed is
-- an absolute safety net on failures per window.
--
-- A spammer's list is full of different dead addresses; a customer who
-- keeps writing to one old friend's dead mailbox is not a spammer. So a
-- failure of an address that failed lately (its tag, a hash of the
-- address, is among the last 16 in field fr) is counted in the totals
-- but is no evidence: it stays a presumed delivery.

local op = ARGV[1]
local now = tonumber(ARGV[2])
local floor, min, max, tonumber = math.floor, math.min, math.max, tonumber
local LISTS = {'m', 'r', 'qr', 'qx', 'qf'}
-- Windows are {limit, seconds, seconds as text}: the text names the
-- fields, and turning a number into text is dear in Redis's Lua.
local SECS = {[60] = '60', [3600] = '3600', [86400] = '86400',
              [604800] = '604800'}
local DETECT = {{0, 3600, '3600'}, {0, 86400, '86400'}}	-- the test's gate

-- read_tier - decode a TIER: its name and its JSON numbers
local function read_tier(name, spec)
  local t = cjson.decode(spec)
  t.name = name
  for i = 1, 5 do
    local wins = t[LISTS[i]]
    for j = 1, #wins do
      local w = wins[j]
      w[3] = SECS[w[2]] or string.format('%d', w[2])
    end
  end
  local d = t.d
  t.lf, t.ls, t.upper, t.lower = d[1], d[2], d[3], d[4]
  return t
end

-- pick_tier - a login's tier from TIERS at ARGV[i]: wanted, else default
local function pick_tier(i, wanted, default)
  local fallback = nil
  for j = i, #ARGV - 1, 2 do
    if wanted and ARGV[j] == wanted then
      return read_tier(ARGV[j], ARGV[j + 1]), ''
    end
    if ARGV[j] == default then
      fallback = j
    end
  end
  if fallback == nil then
    return nil, wanted or ''
  end
  return read_tier(ARGV[fallback], ARGV[fallback + 1]), wanted or ''
end

-- load - the counters hash as a table, and the time it was last updated.
-- Field q marks that the account was quarantined. If the quarantine hash
-- is gone while q is set, support lifted it: the evidence that led there
-- has been judged, so windows and score start afresh (totals stay).
local function load(key, quarantined)
  local flat = redis.call('HGETALL', key)
  local h = {}
  for k = 1, #flat, 2 do
    h[flat[k]] = flat[k + 1]
  end
  if h.q and not quarantined then
    local kept = {}
    for _, f in ipairs({'msgs', 'rcpts', 'rejected', 'bounced', 'policy',
                        'refused', 'tn'}) do
      kept[f] = h[f]
    end
    return kept, now, true
  end
  return h, tonumber(h.t) or now, false
end

-- window - one window of a kind rotated to now: cur, prev, estimate,
-- bucket, its field name, and the stored cur and prev (nil if absent)
local function window(h, last, kind, w)
  local secs, f = w[2], kind .. w[3]
  local oc, op = tonumber(h[f]), tonumber(h[f .. 'p'])
  local cur, prev = oc or 0, op or 0
  local bl, bn = floor(last / secs), floor(now / secs)
  if bn == bl + 1 then
    prev, cur = cur, 0
  elseif bn > bl + 1 then
    prev, cur = 0, 0
  end
  -- A node whose clock lags (bn < bl) keeps the newer bucket as it is.
  local frac = min(max((now - bn * secs) / secs, 0), 1)
  return cur, prev, cur + prev * (1 - frac), bn, f, oc, op
end

-- retry_after - seconds until the estimate admits one more event
local function retry_after(cur, prev, bn, secs, limit)
  local need = limit - 1
  local fnow = (now - bn * secs) / secs
  if cur <= need and prev > 0 then
    return max(1, math.ceil((1 - (need - cur) / prev - fnow) * secs))
  end
  local f = 0
  if cur > 0 then
    f = max(0, 1 - need / cur)
  end
  return max(1, math.ceil((1 - fnow + f) * secs))
end

-- check - the tightest windows of a list: room (the events still
-- allowed), and for the time a client should wait once that room is used
-- up: limit, secs and retry of the window that frees up last, and its
-- count. A window that still has more room than another does not bind.
local function check(h, last, kind, wins)
  local n = #wins
  if n == 0 then
    return nil
  end
  local ws, room = {}, nil
  for i = 1, n do
    local cur, prev, est, bn = window(h, last, kind, wins[i])
    local r = max(0, floor(wins[i][1] - est + 1e-9))
    ws[i] = {cur, prev, bn, r, est}
    if room == nil or r < room then
      room = r
    end
  end
  local best = nil
  for i = 1, n do
    local x = ws[i]
    if x[4] == room then
      local w = wins[i]
      local retry = retry_after(x[1] + room, x[2], x[3], w[2], w[1])
      if best == nil or retry > best[4] then
        best = {room, w[1], w[2], retry, floor(x[5] + 0.5)}
      end
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
  local longest = DETECT[#DETECT][2]
  for i = 1, 5 do
    local wins = tier[LISTS[i]]
    for j = 1, #wins do
      longest = max(longest, wins[j][2])
    end
  end
  return 2 * longest
end

-- event - one line in the capped stream subguard:events
local function event(key, ...)
  if key and key ~= '' then
    redis.call('XADD', key, 'MAXLEN', '~', 10000, '*', 'time',
               math.floor(now), ...)
  end
end

-- recent - a space-separated list with item first, at most max long
local function recent(list, item, max)
  local out = {item}
  for w in string.gmatch(list, '%S+') do
    if #out >= max then
      break
    end
    if w ~= item then
      out[#out + 1] = w
    end
  end
  return table.concat(out, ' ')
end

-- update - add counts to an account, run the detection, maybe quarantine.
-- k: {quar, cnt, events}; add: {m, r, x, b, refused, policy}; delta: the
-- score change; qid: for the evidence. Returns quarantined, newly,
-- reason, and what changed by hand since the last update ("lift",
-- "tier OLD NEW", or ""), for the caller's log.
local function update(k, login, tier, add, tags, qid, source)
  local quarantined = redis.call('EXISTS', k.quar) == 1
  local h, last, lifted = load(k.cnt, quarantined)

  -- Failures of addresses that failed lately are no new evidence.
  local fr, repeats = h.fr or '', 0
  for tag in string.gmatch(tags, '%x+') do
    if string.find(' ' .. fr .. ' ', ' ' .. tag .. ' ', 1, true) then
      repeats = repeats + 1
    end
    fr = recent(fr, tag, 16)
  end
  local x, b = add.x, add.b
  if x > 0 then
    x = math.max(x - repeats, 0)
  else
    b = math.max(b - repeats, 0)
  end
  local delta = add.r * tier.ls + x * tier.lf + b * (tier.lf - tier.ls)
  local seen = ''
  if lifted then
    event(k.events, 'event', 'lift', 'login', login)
    seen = 'lift'
  end
  if h.tn and h.tn ~= tier.name then
    event(k.events, 'event', 'tier', 'login', login, 'from', h.tn,
          'to', tier.name)
    seen = 'tier ' .. h.tn .. ' ' .. tier.name
  end

  -- Rotate every window in use to now and add the counts. One window
  -- length may serve several lists; each is rotated once. Only fields
  -- that change are written (turning numbers into text is most of a
  -- call's cost), and fields that become zero are removed: absent reads
  -- as zero, so a million mostly idle accounts fit in little memory.
  local out, gone = {}, {}
  -- put - field f becomes v; old is what it holds (a number, or nil)
  local function put(f, v, old)
    if v == 0 or v == '' then
      if old ~= nil and not lifted then
        gone[#gone + 1] = f
      end
    elseif lifted or old ~= v then
      out[#out + 1] = f
      out[#out + 1] = v
    end
  end
  put('t', floor(now), tonumber(h.t))
  put('tn', tier.name, h.tn)
  local est = {}
  -- count - add n events that happened at time at (now if nil) to the
  -- windows of a kind. A bounce belongs to the bucket of the message it
  -- bounces, so a window's failures are weighed against the recipients
  -- they came from, not against whatever was sent when the bounce came.
  local function count(kind, lists, n, at)
    for i = 1, #lists do
      local wins = lists[i]
      for j = 1, #wins do
        local w = wins[j]
        if est[kind .. w[3]] == nil then
          local cur, prev, e, bn, f, oc, op = window(h, last, kind, w)
          local secs = w[2]
          local ba = floor((at or now) / secs)
          if ba >= bn then
            cur, e = cur + n, e + n
          elseif ba == bn - 1 then
            prev = prev + n
            e = e + n * (1 - min(max((now - bn * secs) / secs, 0), 1))
          end
          est[f] = e
          put(f, cur, oc)
          put(f .. 'p', prev, op)
        end
      end
    end
  end
  count('m', {tier.m}, add.m)
  count('r', {tier.r, tier.qr, DETECT}, add.r)
  count('x', {tier.qx, tier.qf, DETECT}, x)
  count('b', {tier.qf, DETECT}, b, add.at)
  local total = {}
  for _, f in ipairs({{'msgs', add.m}, {'rcpts', add.r}, {'rejected', add.x},
                      {'bounced', add.b}, {'policy', add.policy},
                      {'refused', add.refused}}) do
    local old = tonumber(h[f[1]])
    total[f[1]] = (old or 0) + f[2]
    put(f[1], total[f[1]], old)
  end
  local fq = h.fq or ''
  if x + b > 0 and qid ~= '' then
    fq = recent(fq, qid, 10)
  end
  put('fq', fq, h.fq)
  put('fr', fr, h.fr)

  local s = tonumber(h.s) or 0
  if tier.lf > 0 then
    s = max(tier.lower, s + delta)
  end

  -- The test over each detection window alone: the strongest evidence,
  -- for the gate and for the record.
  local llr, rwin, rn, rf = nil, DETECT[1][2], 0, 0
  for i = 1, #DETECT do
    local ss = DETECT[i][3]
    local f = est['x' .. ss] + est['b' .. ss]
    local n = est['r' .. ss] + est['x' .. ss]
    local e = f * tier.lf + max(n - f, 0) * tier.ls
    if llr == nil or e > llr then
      llr, rwin, rn, rf = e, DETECT[i][2], n, f
    end
  end
  local ratio = rn > 0 and rf / rn or 0

  local newly, reason = 0, ''
  if not quarantined then
    local function over(wins, what, value)
      for i = 1, #wins do
        local w = wins[i]
        local e = value(w[3])
        if e > w[1] then
          return string.format('%d %s in %s (quarantine threshold %d)',
                               floor(e + 0.5), what, human(w[2]), w[1])
        end
      end
      return nil
    end
    if tier.lf > 0 and s >= tier.upper and llr >= tier.upper then
      reason = string.format('failure test: %d of %d recipients failed in %s ' ..
                             '(%.1f%%), score %.1f, over %.1f',
                             math.floor(rf + 0.5), math.floor(rn + 0.5),
                             human(rwin), 100 * ratio, math.min(s, llr),
                             tier.upper)
    end
    if reason == '' then
      reason = over(tier.qf, 'failed recipients',
                    function(secs) return est['x' .. secs] + est['b' .. secs] end)
               or over(tier.qx, 'recipients rejected by the MTA',
                       function(secs) return est['x' .. secs] end)
               or over(tier.qr, 'recipients',
                       function(secs) return est['r' .. secs] end)
               or ''
    end
    if reason ~= '' then
      quarantined, newly = true, 1
      redis.call('HSET', k.quar, 'since', math.floor(now), 'reason', reason,
                 'by', 'subguard', 'source', source, 'tier', tier.name,
                 'score', string.format('%.2f', s),
                 'ratio', string.format('%.4f', ratio), 'window', human(rwin),
                 'rcpts', math.floor(rn + 0.5), 'failed', math.floor(rf + 0.5),
                 'qids', fq)
      event(k.events, 'event', 'quarantine', 'login', login, 'reason', reason,
            'source', source, 'score', string.format('%.2f', s), 'qids', fq)
    end
  else
    reason = redis.call('HGET', k.quar, 'reason') or ''
  end
  put('s', s ~= 0 and string.format('%.4f', s) or 0, h.s)
  if quarantined then
    put('q', h.q or floor(now), h.q)
  end
  if lifted then
    redis.call('DEL', k.cnt)
  elseif #gone > 0 then
    redis.call('HDEL', k.cnt, unpack(gone))
  end
  if #out > 0 then
    redis.call('HSET', k.cnt, unpack(out))
  end
  redis.call('EXPIRE', k.cnt, ttl_of(tier))
  return quarantined, newly, reason, seen
end

if op == 'begin' then
  local tier, unknown = pick_tier(5, redis.call('GET', KEYS[1]), ARGV[3])
  if tier == nil then
    return redis.error_reply('default tier ' .. ARGV[3] .. ' not in the request')
  end
  local qreason = ''
  if redis.call('EXISTS', KEYS[2]) == 1 then
    qreason = redis.call('HGET', KEYS[2], 'reason') or ''
    if qreason == '' then
      qreason = 'unknown'
    end
  end
  local h, last = load(KEYS[3], qreason ~= '')
  local r = check(h, last, 'r', tier.r) or {-1, 0, 0, 0, 0}
  local m = check(h, last, 'm', tier.m) or {-1, 0, 0, 0, 0}
  local qr = check(h, last, 'r', tier.qr) or {-1}
  local status = 'ok'
  if (qreason ~= '' and ARGV[4] == '1') or m[1] == 0 then
    status = (qreason ~= '' and ARGV[4] == '1') and 'quarantined' or 'messages'
    -- A refused attempt: counted apart, so it uses no quota but shows.
    redis.call('HINCRBY', KEYS[3], 'refused', 1)
    if redis.call('TTL', KEYS[3]) < 0 then
      redis.call('EXPIRE', KEYS[3], ttl_of(tier))
    end
  elseif qreason ~= '' then
    status = 'hold'
  end
  return {status, tier.name, unknown, r[1], r[2], r[3], r[4],
          m[2], m[3], m[4], qreason, r[5], m[5], qr[1]}
end

if op == 'commit' then
  local login, qid = ARGV[3], ARGV[4]
  local accepted, rejected = tonumber(ARGV[5]), tonumber(ARGV[6])
  local message, hold = tonumber(ARGV[8]), ARGV[9] == '1'
  local tier = read_tier(ARGV[14], ARGV[15])
  local k = {quar = KEYS[1], cnt = KEYS[2], events = KEYS[5]}
  local quarantined, newly, reason, seen = update(k, login, tier,
    {m = message, r = accepted, x = rejected, b = 0, policy = 0,
     refused = tonumber(ARGV[7])}, ARGV[13], qid, 'submission')

  if message == 1 and qid ~= '' then
    redis.call('SET', KEYS[4], login .. ' ' .. math.floor(now), 'EX',
               tonumber(ARGV[11]))
  end
  local action, nheld = 'accept', 0
  if quarantined and message == 1 then
    action = 'refuse'
    nheld = redis.call('LLEN', KEYS[3])
    if hold and nheld < tonumber(ARGV[10]) then
      action = 'hold'
      nheld = redis.call('RPUSH', KEYS[3], qid ~= '' and qid or 'unknown')
      redis.call('EXPIRE', KEYS[3], tonumber(ARGV[12]))
    end
  end
  return {action, newly, reason, nheld, seen}
end

if op == 'position' then
  return {redis.call('GET', KEYS[1]) or ''}
end

if op == 'outcome' then
  local prefix, class, nrcpt = ARGV[3], ARGV[4], tonumber(ARGV[5])
  local sent = KEYS[1] ~= '' and redis.call('GET', KEYS[1])
  local login, at = nil, nil
  if sent then
    login, at = string.match(sent, '^(%S+) (%d+)$')
    login = login or sent
  end
  if KEYS[2] ~= '' and ARGV[6] ~= '' then
    -- A feed whose call timed out after Redis had run it sends the same
    -- line again: a saved position at or past this line's (same inode)
    -- says it was counted already. Positions are "dev:inode:offset".
    local saved = redis.call('GET', KEYS[2])
    if saved then
      local si, so = string.match(saved, '^%d+:(%d+):(%d+)$')
      local ni, no = string.match(ARGV[6], '^%d+:(%d+):(%d+)$')
      if si and ni and si == ni and tonumber(so) >= tonumber(no) then
        return {login or '', 0, '', ''}
      end
    end
    redis.call('SET', KEYS[2], ARGV[6])
  end
  if not login then
    return {'', 0, '', ''}
  end
  local base = prefix .. ':{' .. login .. '}:'
  local tier = pick_tier(9, redis.call('GET', base .. 'tier'), ARGV[7])
  local qid = string.match(KEYS[1], '([^:]*)$')
  local k = {quar = base .. 'quarantine', cnt = base .. 'counters',
             events = KEYS[3]}
  local policy = class == 'policy' and nrcpt or 0
  local _, newly, reason, seen = update(k, login, tier,
    {m = 0, r = 0, x = 0, b = nrcpt, policy = policy, refused = 0,
     at = tonumber(at)}, ARGV[8], qid, 'feed')
  return {login, newly, reason, seen}
end

return redis.error_reply('unknown operation ' .. tostring(op))

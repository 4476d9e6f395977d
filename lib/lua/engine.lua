-- engine.lua - subguard's Redis-side engine: windows, limits, detection.
--
-- One script, loaded once and called by SHA (EVALSHA) from every subguard
-- node and the log feed, so that all of them count one account as one.
-- Each call is atomic. The time is an argument: the daemon passes the
-- wall clock, the replay passes the trace's clock.
--
-- ARGV[1] names the operation, ARGV[2] is the time. Every key, argument
-- and reply field of each operation is named in lib/sg_engine_proto.h
-- (SG_BEGIN_K_TIER, SG_COMMIT_A_QID, SG_OUTCOME_R_SEEN, ...): each
-- operation below starts with a named local per key and argument, and
-- its reply is an ordered list of field names, each line carrying the C
-- name; tests/unit/test_proto.c holds the two sides together.
--
-- begin    at MAIL FROM: may this account send a message, and how many
--          recipients? Reserves one message and a chunk of recipients
--          (see "Reservations"); counts nothing but refused attempts.
--          Status ok,
--          hold (quarantined, mail is held), messages (message limit
--          reached) or quarantined (refused at MAIL).
--
-- commit   at end of message (or abort): count what happened, run the
--          detection, decide whether this message is held (action
--          accept, hold or refuse). seen is "lift" or "tier OLD NEW"
--          when support lifted a quarantine or changed the tier since
--          the last update, else "".
--
-- outcome  a final delivery outcome from the MTA's log (the feed, or the
--          replay): nrcpt recipients of queue id qid bounced. The login,
--          the time the message was sent and its accepted recipients
--          are looked up from the qid key that commit wrote ("LOGIN
--          TIME N"); no more than N bounces count, each recipient once
--          (see bounce_cap); the account's keys are then
--          derived here from the prefix and the suffixes the caller
--          passes (lib/sg_keys.c owns them), so this operation needs a
--          single Redis, not a Cluster. The feed's position is saved in
--          the same call (see counted_before); with class "none" only the
--          position is saved.
--
-- reserve  more recipients for a message in flight than begin reserved.
--
-- position where a feed stopped.
--
-- inspect  an account's state, read only: tier, quarantine, held count,
--          score, totals, and the estimated counts of every window in
--          use at time now. What the replay, support tools and tests read
--          instead of the counters hash's private fields.
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

local op = ARGV[1]				-- SG_A_OP
local now = tonumber(ARGV[2])			-- SG_A_NOW
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

-- reply - a reply in the order of fields, a list of names, from values
local function reply(fields, values)
  local out = {}
  for i = 1, #fields do
    out[i] = values[fields[i]]
  end
  return out
end

-- The steps of update, in the order it runs them.

-- evidence - failures of addresses that failed lately are no new
-- evidence: the rejected (x) and bounced (b) counts that are, the
-- score change they and the accepted recipients bring, and the list of
-- recent failing tags (field fr) with this call's tags in front
local function evidence(h, tier, add, tags)
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
  return x, b, delta, fr
end

-- seen_by_hand - what support changed since the last update ("lift",
-- "tier OLD NEW" or ""), each change also an event
local function seen_by_hand(k, login, tier, h, lifted)
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
  return seen
end

-- writer - what an update writes to the counters hash. Only fields that
-- change are written (turning numbers into text is most of a call's
-- cost), and fields that become zero are removed: absent reads as zero,
-- so a million mostly idle accounts fit in little memory. After a lift
-- the hash is rewritten whole. put(f, v, old): field f becomes v; old
-- is what it holds (a number, or nil).
local function writer(lifted)
  local wr = {out = {}, gone = {}}
  wr.put = function(f, v, old)
    if v == 0 or v == '' then
      if old ~= nil and not lifted then
        wr.gone[#wr.gone + 1] = f
      end
    elseif lifted or old ~= v then
      wr.out[#wr.out + 1] = f
      wr.out[#wr.out + 1] = v
    end
  end
  return wr
end

-- count_windows - rotate every window in use to now and add the counts;
-- returns each window's estimate by field name. One window length may
-- serve several lists; each is rotated once. A bounce belongs to the
-- bucket of the message it bounces (add.at), so a window's failures are
-- weighed against the recipients they came from, not against whatever
-- was sent when the bounce came.
local function count_windows(h, last, tier, add, x, b, put)
  local est = {}
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
  return est
end

-- count_totals - the totals while the key lives, and the last queue ids
-- with failures (fq, the evidence a quarantine names)
local function count_totals(h, add, x, b, qid, put)
  for _, f in ipairs({{'msgs', add.m}, {'rcpts', add.r}, {'rejected', add.x},
                      {'bounced', add.b}, {'policy', add.policy},
                      {'refused', add.refused}}) do
    local old = tonumber(h[f[1]])
    put(f[1], (old or 0) + f[2], old)
  end
  local fq = h.fq or ''
  if x + b > 0 and qid ~= '' then
    fq = recent(fq, qid, 10)
  end
  put('fq', fq, h.fq)
  return fq
end

-- window_test - the test over each detection window alone: the
-- strongest evidence, for the gate and for the record. Returns its
-- llr, the window's seconds, its recipients and failures, and the ratio.
local function window_test(tier, est)
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
  return {llr = llr, win = rwin, n = rn, f = rf,
          ratio = rn > 0 and rf / rn or 0}
end

-- over - the first window of a list whose estimate passes its threshold,
-- worded for the quarantine's reason, or nil
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

-- quarantine_reason - why this account is to be quarantined now, or ''
-- (the failure test, then the safety nets)
local function quarantine_reason(tier, s, t, est)
  if tier.lf > 0 and s >= tier.upper and t.llr >= tier.upper then
    return string.format('failure test: %d of %d recipients failed in %s ' ..
                         '(%.1f%%), score %.1f, over %.1f',
                         math.floor(t.f + 0.5), math.floor(t.n + 0.5),
                         human(t.win), 100 * t.ratio, math.min(s, t.llr),
                         tier.upper)
  end
  return over(tier.qf, 'failed recipients',
              function(secs) return est['x' .. secs] + est['b' .. secs] end)
         or over(tier.qx, 'recipients rejected by the MTA',
                 function(secs) return est['x' .. secs] end)
         or over(tier.qr, 'recipients',
                 function(secs) return est['r' .. secs] end)
         or ''
end

-- quarantine - set the quarantine hash and tell the events stream
local function quarantine(k, login, tier, source, reason, s, t, fq)
  redis.call('HSET', k.quar, 'since', math.floor(now), 'reason', reason,
             'by', 'subguard', 'source', source, 'tier', tier.name,
             'score', string.format('%.2f', s),
             'ratio', string.format('%.4f', t.ratio), 'window', human(t.win),
             'rcpts', math.floor(t.n + 0.5), 'failed', math.floor(t.f + 0.5),
             'qids', fq)
  event(k.events, 'event', 'quarantine', 'login', login, 'reason', reason,
        'source', source, 'score', string.format('%.2f', s), 'qids', fq)
end

-- save - write the counters hash: removed fields, then changed ones
local function save(k, tier, wr, lifted)
  if lifted then
    redis.call('DEL', k.cnt)
  elseif #wr.gone > 0 then
    redis.call('HDEL', k.cnt, unpack(wr.gone))
  end
  if #wr.out > 0 then
    redis.call('HSET', k.cnt, unpack(wr.out))
  end
  redis.call('EXPIRE', k.cnt, ttl_of(tier))
end

-- update - add counts to an account, run the detection, maybe quarantine.
-- k: {quar, cnt, events}; add: {m, r, x, b, refused, policy, at};
-- tags: of the failing recipients; qid: for the evidence. Returns
-- quarantined, newly, reason, and what changed by hand since the last
-- update ("lift", "tier OLD NEW", or ""), for the caller's log.
local function update(k, login, tier, add, tags, qid, source)
  local quarantined = redis.call('EXISTS', k.quar) == 1
  local h, last, lifted = load(k.cnt, quarantined)
  local x, b, delta, fr = evidence(h, tier, add, tags)
  local seen = seen_by_hand(k, login, tier, h, lifted)
  local wr = writer(lifted)
  local put = wr.put

  put('t', floor(now), tonumber(h.t))
  put('tn', tier.name, h.tn)
  local est = count_windows(h, last, tier, add, x, b, put)
  local fq = count_totals(h, add, x, b, qid, put)
  put('fr', fr, h.fr)

  local s = tonumber(h.s) or 0
  if tier.lf > 0 then
    s = max(tier.lower, s + delta)
  end
  local t = window_test(tier, est)
  local newly, reason = 0, ''
  if not quarantined then
    reason = quarantine_reason(tier, s, t, est)
    if reason ~= '' then
      quarantined, newly = true, 1
      quarantine(k, login, tier, source, reason, s, t, fq)
    end
  else
    reason = redis.call('HGET', k.quar, 'reason') or ''
  end
  put('s', s ~= 0 and string.format('%.4f', s) or 0, h.s)
  if quarantined then
    put('q', h.q or floor(now), h.q)
  end
  save(k, tier, wr, lifted)
  return quarantined, newly, reason, seen
end

-- Reservations. A message in flight holds room in the reservation hash
-- (PREFIX:{LOGIN}:resv): field its id, value "MSGS RCPTS EXPIRY". begin
-- reserves one message and a chunk of recipients, reserve adds more,
-- commit removes the entry in the call that counts what was sent. Room
-- is the limit less the sliding estimate less every live reservation,
-- so concurrent messages, on one node or many, never share the same
-- room. Entries past EXPIRY are dropped by whichever call reads the
-- hash next, and the hash itself expires, so a node that died holds
-- room for RESV_TTL at most.

-- resv_read - the live reservations: sums of messages and recipients
-- over all entries but except, and except's own entry {m, r} or nil.
-- Expired entries are removed.
local function resv_read(key, except)
  local flat = redis.call('HGETALL', key)
  local sm, sr, own, dead = 0, 0, nil, {}
  for i = 1, #flat, 2 do
    local m, r, x = string.match(flat[i + 1], '^(%d+) (%d+) ([%d.]+)$')
    m, r, x = tonumber(m), tonumber(r), tonumber(x)
    if not x or x <= now then
      dead[#dead + 1] = flat[i]
    elseif flat[i] == except then
      own = {m, r}
    else
      sm, sr = sm + m, sr + r
    end
  end
  if #dead > 0 then
    redis.call('HDEL', key, unpack(dead))
  end
  return sm, sr, own
end

-- resv_write - set id's reservation to m messages, r recipients, for ttl
local function resv_write(key, id, m, r, ttl)
  redis.call('HSET', key, id, string.format('%d %d %d', m, r,
                                            math.ceil(now + ttl)))
  local keep = math.ceil(ttl) + 1
  if redis.call('TTL', key) < keep then
    redis.call('EXPIRE', key, keep)
  end
end

-- The operations: KEYS[i] and ARGV[i] here are SG_..._K_ and _A_ i - 1
-- in lib/sg_engine_proto.h; replies follow their lists in order.

-- begin's reply (SG_BEGIN_R_*)
local BEGIN_REPLY = {
  'status',				-- SG_BEGIN_R_STATUS
  'tier',				-- SG_BEGIN_R_TIER
  'unknown_tier',			-- SG_BEGIN_R_UNKNOWN_TIER
  'budget',				-- SG_BEGIN_R_BUDGET
  'rcpt_limit',				-- SG_BEGIN_R_RCPT_LIMIT
  'rcpt_secs',				-- SG_BEGIN_R_RCPT_SECS
  'rcpt_retry',				-- SG_BEGIN_R_RCPT_RETRY
  'msg_limit',				-- SG_BEGIN_R_MSG_LIMIT
  'msg_secs',				-- SG_BEGIN_R_MSG_SECS
  'msg_retry',				-- SG_BEGIN_R_MSG_RETRY
  'quarantine_reason',			-- SG_BEGIN_R_QUARANTINE_REASON
  'rcpts_in_window',			-- SG_BEGIN_R_RCPTS_IN_WINDOW
  'msgs_in_window',			-- SG_BEGIN_R_MSGS_IN_WINDOW
  'quarantine_room',			-- SG_BEGIN_R_QUARANTINE_ROOM
}

-- begin_op - at MAIL FROM: the room left, nothing counted but refusals
local function begin_op()
  local K_TIER = KEYS[1]			-- SG_BEGIN_K_TIER
  local K_QUARANTINE = KEYS[2]			-- SG_BEGIN_K_QUARANTINE
  local K_COUNTERS = KEYS[3]			-- SG_BEGIN_K_COUNTERS
  local K_RESV = KEYS[4]				-- SG_BEGIN_K_RESV
  local A_DEFAULT_TIER = ARGV[3]		-- SG_BEGIN_A_DEFAULT_TIER
  local A_REFUSE_QUARANTINED = ARGV[4] == '1'	-- SG_BEGIN_A_REFUSE_QUARANTINED
  local A_RESV_ID = ARGV[5]			-- SG_BEGIN_A_RESV_ID
  local A_RESV_RCPTS = tonumber(ARGV[6])	-- SG_BEGIN_A_RESV_RCPTS
  local A_RESV_TTL = tonumber(ARGV[7])		-- SG_BEGIN_A_RESV_TTL
  local A_TIERS = 8				-- SG_BEGIN_A_TIERS

  local tier, unknown = pick_tier(A_TIERS, redis.call('GET', K_TIER),
                                  A_DEFAULT_TIER)
  if tier == nil then
    return redis.error_reply('default tier ' .. A_DEFAULT_TIER ..
                             ' not in the request')
  end
  local qreason = ''
  if redis.call('EXISTS', K_QUARANTINE) == 1 then
    qreason = redis.call('HGET', K_QUARANTINE, 'reason') or ''
    if qreason == '' then
      qreason = 'unknown'
    end
  end
  local h, last = load(K_COUNTERS, qreason ~= '')
  local r = check(h, last, 'r', tier.r) or {-1, 0, 0, 0, 0}
  local m = check(h, last, 'm', tier.m) or {-1, 0, 0, 0, 0}
  local qr = check(h, last, 'r', tier.qr) or {-1}
  local limited = A_RESV_ID ~= '' and (#tier.m > 0 or #tier.r > 0)
  if limited then
    -- Other messages in flight hold part of the room; the counts the
    -- log shows include what they hold.
    local sm, sr = resv_read(K_RESV, A_RESV_ID)
    if m[1] >= 0 then
      m[1], m[5] = max(0, m[1] - sm), m[5] + sm
    end
    if r[1] >= 0 then
      r[1], r[5] = max(0, r[1] - sr), r[5] + sr
    end
  end
  local status = 'ok'
  if (qreason ~= '' and A_REFUSE_QUARANTINED) or m[1] == 0 then
    status = (qreason ~= '' and A_REFUSE_QUARANTINED) and 'quarantined'
             or 'messages'
    -- A refused attempt: counted apart, so it uses no quota but shows.
    redis.call('HINCRBY', K_COUNTERS, 'refused', 1)
    if redis.call('TTL', K_COUNTERS) < 0 then
      redis.call('EXPIRE', K_COUNTERS, ttl_of(tier))
    end
  elseif qreason ~= '' then
    status = 'hold'
  end
  if limited and status ~= 'messages' and status ~= 'quarantined' then
    if r[1] >= 0 then
      r[1] = min(r[1], A_RESV_RCPTS)
    end
    resv_write(K_RESV, A_RESV_ID, 1, max(r[1], 0), A_RESV_TTL)
  end
  return reply(BEGIN_REPLY, {
    status = status, tier = tier.name, unknown_tier = unknown,
    budget = r[1], rcpt_limit = r[2], rcpt_secs = r[3], rcpt_retry = r[4],
    msg_limit = m[2], msg_secs = m[3], msg_retry = m[4],
    quarantine_reason = qreason, rcpts_in_window = r[5],
    msgs_in_window = m[5], quarantine_room = qr[1]})
end

-- commit's reply (SG_COMMIT_R_*)
local COMMIT_REPLY = {
  'action',				-- SG_COMMIT_R_ACTION
  'newly_quarantined',			-- SG_COMMIT_R_NEWLY_QUARANTINED
  'reason',				-- SG_COMMIT_R_REASON
  'held',				-- SG_COMMIT_R_HELD
  'seen',				-- SG_COMMIT_R_SEEN
}

-- commit_op - at end of message: count it, maybe quarantine, maybe hold
local function commit_op()
  local K_QUARANTINE = KEYS[1]			-- SG_COMMIT_K_QUARANTINE
  local K_COUNTERS = KEYS[2]			-- SG_COMMIT_K_COUNTERS
  local K_HELD = KEYS[3]			-- SG_COMMIT_K_HELD
  local K_QID = KEYS[4]				-- SG_COMMIT_K_QID
  local K_EVENTS = KEYS[5]			-- SG_COMMIT_K_EVENTS
  local A_LOGIN = ARGV[3]			-- SG_COMMIT_A_LOGIN
  local A_QID = ARGV[4]				-- SG_COMMIT_A_QID
  local A_ACCEPTED = tonumber(ARGV[5])		-- SG_COMMIT_A_ACCEPTED
  local A_REJECTED = tonumber(ARGV[6])		-- SG_COMMIT_A_REJECTED
  local A_REFUSED = tonumber(ARGV[7])		-- SG_COMMIT_A_REFUSED
  local A_MESSAGE = tonumber(ARGV[8])		-- SG_COMMIT_A_MESSAGE
  local A_HOLD = ARGV[9] == '1'			-- SG_COMMIT_A_HOLD
  local A_HOLD_MAX = ARGV[10]			-- SG_COMMIT_A_HOLD_MAX
  local A_QID_TTL = ARGV[11]			-- SG_COMMIT_A_QID_TTL
  local A_HELD_TTL = ARGV[12]			-- SG_COMMIT_A_HELD_TTL
  local A_TAGS = ARGV[13]			-- SG_COMMIT_A_TAGS
  local A_TIER_NAME = ARGV[14]			-- SG_COMMIT_A_TIER_NAME
  local A_TIER_SPEC = ARGV[15]			-- SG_COMMIT_A_TIER_SPEC
  local K_RESV = KEYS[6]			-- SG_COMMIT_K_RESV
  local A_RESV_ID = ARGV[16]			-- SG_COMMIT_A_RESV_ID

  -- Settle: the reservation goes, the counts below take its place.
  if A_RESV_ID ~= '' then
    redis.call('HDEL', K_RESV, A_RESV_ID)
  end
  if A_MESSAGE == 0 and A_ACCEPTED == 0 and A_REJECTED == 0
     and A_REFUSED == 0 then
    return reply(COMMIT_REPLY, {action = 'accept', newly_quarantined = 0,
                                reason = '', held = 0, seen = ''})
  end
  local tier = read_tier(A_TIER_NAME, A_TIER_SPEC)
  local k = {quar = K_QUARANTINE, cnt = K_COUNTERS, events = K_EVENTS}
  local quarantined, newly, reason, seen = update(k, A_LOGIN, tier,
    {m = A_MESSAGE, r = A_ACCEPTED, x = A_REJECTED, b = 0, policy = 0,
     refused = A_REFUSED}, A_TAGS, A_QID, 'submission')

  if A_MESSAGE == 1 and A_QID ~= '' then
    redis.call('SET', K_QID, string.format('%s %d %d', A_LOGIN, floor(now),
               A_ACCEPTED), 'EX', tonumber(A_QID_TTL))
  end
  local action, nheld = 'accept', 0
  if quarantined and A_MESSAGE == 1 then
    action = 'refuse'
    nheld = redis.call('LLEN', K_HELD)
    if A_HOLD and nheld < tonumber(A_HOLD_MAX) then
      action = 'hold'
      nheld = redis.call('RPUSH', K_HELD, A_QID ~= '' and A_QID or 'unknown')
      redis.call('EXPIRE', K_HELD, tonumber(A_HELD_TTL))
    end
  end
  return reply(COMMIT_REPLY, {action = action, newly_quarantined = newly,
                              reason = reason, held = nheld, seen = seen})
end

-- reserve's reply (SG_RESERVE_R_*)
local RESERVE_REPLY = {
  'granted',				-- SG_RESERVE_R_GRANTED
}

-- reserve_op - more recipients for a message in flight, if there is room
local function reserve_op()
  local K_COUNTERS = KEYS[1]			-- SG_RESERVE_K_COUNTERS
  local K_RESV = KEYS[2]			-- SG_RESERVE_K_RESV
  local A_RESV_ID = ARGV[3]			-- SG_RESERVE_A_RESV_ID
  local A_WANT = tonumber(ARGV[4])		-- SG_RESERVE_A_WANT
  local A_RESV_TTL = tonumber(ARGV[5])		-- SG_RESERVE_A_RESV_TTL
  local A_TIER_NAME = ARGV[6]			-- SG_RESERVE_A_TIER_NAME
  local A_TIER_SPEC = ARGV[7]			-- SG_RESERVE_A_TIER_SPEC

  local tier = read_tier(A_TIER_NAME, A_TIER_SPEC)
  -- Read as if quarantined: a lift's fresh start is commit's to make.
  local h, last = load(K_COUNTERS, true)
  local r = check(h, last, 'r', tier.r)
  local _, sr, own = resv_read(K_RESV, A_RESV_ID)
  -- An entry that expired meanwhile is taken up again.
  own = own or {1, 0}
  local granted = A_WANT
  if r then
    granted = max(0, min(A_WANT, r[1] - sr - own[2]))
  end
  if granted > 0 then
    resv_write(K_RESV, A_RESV_ID, own[1], own[2] + granted, A_RESV_TTL)
  end
  return reply(RESERVE_REPLY, {granted = granted})
end

-- position's reply (SG_POSITION_R_*)
local POSITION_REPLY = {
  'position',				-- SG_POSITION_R_POSITION
}

-- position_op - where a feed stopped
local function position_op()
  local K_POSITION = KEYS[1]			-- SG_POSITION_K_POSITION
  return reply(POSITION_REPLY,
               {position = redis.call('GET', K_POSITION) or ''})
end

-- outcome's reply (SG_OUTCOME_R_*)
local OUTCOME_REPLY = {
  'login',				-- SG_OUTCOME_R_LOGIN
  'newly_quarantined',			-- SG_OUTCOME_R_NEWLY_QUARANTINED
  'reason',				-- SG_OUTCOME_R_REASON
  'seen',				-- SG_OUTCOME_R_SEEN
}

-- counted_before - whether a feed line was counted already: a restarted
-- feed neither loses nor double counts a line, and one sent again after
-- a timeout (Redis ran it, the answer was late) finds a saved position
-- at or past its own (same inode). Positions are "dev:inode:offset".
-- Otherwise the line's position is saved.
local function counted_before(key, position)
  local saved = redis.call('GET', key)
  if saved then
    local si, so = string.match(saved, '^%d+:(%d+):(%d+)$')
    local ni, no = string.match(position, '^%d+:(%d+):(%d+)$')
    if si and ni and si == ni and tonumber(so) >= tonumber(no) then
      return true
    end
  end
  redis.call('SET', key, position)
  return false
end

-- qid_record - the qid key's value: "LOGIN TIME N", then " B TAGS" once
-- bounces were counted (B of the N accepted recipients; TAGS, comma
-- separated, the tags of those that bounced). A record of an older
-- version, "LOGIN TIME", has no n: its bounces are not capped.
local function qid_record(text)
  local f = {}
  for w in string.gmatch(text, '%S+') do
    f[#f + 1] = w
  end
  return {login = f[1], at = tonumber(f[2]), n = tonumber(f[3]),
          b = tonumber(f[4]) or 0, tags = f[5] or ''}
end

-- bounce_cap - how many of nrcpt bounced recipients of a queue id count:
-- never more than the message had accepted, each recipient (its tag) at
-- most once, and none for a message with no accepted recipient. A log
-- line repeated, forged or belonging to a later message that reused the
-- queue id can add nothing past that. Writes what it counted back to
-- the qid key, keeping its expiry.
local function bounce_cap(key, q, nrcpt, tag)
  if q.n == nil then
    return nrcpt
  end
  local left = q.n - q.b
  if left <= 0 or nrcpt <= 0 then
    return 0
  end
  if tag ~= '' and string.find(',' .. q.tags .. ',', ',' .. tag .. ',', 1,
                               true) then
    return 0
  end
  local n = min(nrcpt, left)
  local tags = q.tags
  if tag ~= '' then
    tags = tags == '' and tag or tags .. ',' .. tag
  end
  redis.call('SET', key, string.format('%s %d %d %d %s', q.login, q.at or 0,
             q.n, q.b + n, tags), 'KEEPTTL')
  return n
end

-- outcome_op - a bounce from the MTA's log, counted for its account
local function outcome_op()
  local K_QID = KEYS[1]				-- SG_OUTCOME_K_QID
  local K_POSITION = KEYS[2]			-- SG_OUTCOME_K_POSITION
  local K_EVENTS = KEYS[3]			-- SG_OUTCOME_K_EVENTS
  local A_PREFIX = ARGV[3]			-- SG_OUTCOME_A_PREFIX
  local A_CLASS = ARGV[4]			-- SG_OUTCOME_A_CLASS
  local A_NRCPT = tonumber(ARGV[5])		-- SG_OUTCOME_A_NRCPT
  local A_POSITION = ARGV[6]			-- SG_OUTCOME_A_POSITION
  local A_DEFAULT_TIER = ARGV[7]		-- SG_OUTCOME_A_DEFAULT_TIER
  local A_TAG = ARGV[8]				-- SG_OUTCOME_A_TAG
  local A_SUFFIX_TIER = ARGV[9]			-- SG_OUTCOME_A_SUFFIX_TIER
  local A_SUFFIX_QUARANTINE = ARGV[10]		-- SG_OUTCOME_A_SUFFIX_QUARANTINE
  local A_SUFFIX_COUNTERS = ARGV[11]		-- SG_OUTCOME_A_SUFFIX_COUNTERS
  local A_TIERS = 12				-- SG_OUTCOME_A_TIERS

  local sent = K_QID ~= '' and redis.call('GET', K_QID)
  local q = sent and qid_record(sent) or {}
  local login = q.login
  local none = {login = '', newly_quarantined = 0, reason = '', seen = ''}
  if K_POSITION ~= '' and A_POSITION ~= ''
     and counted_before(K_POSITION, A_POSITION) then
    none.login = login or ''
    return reply(OUTCOME_REPLY, none)
  end
  if not login then
    return reply(OUTCOME_REPLY, none)
  end
  -- PREFIX:{LOGIN}:SUFFIX, as sg_account_key() in lib/sg_keys.c
  local base = A_PREFIX .. ':{' .. login .. '}:'
  local tier = pick_tier(A_TIERS, redis.call('GET', base .. A_SUFFIX_TIER),
                         A_DEFAULT_TIER)
  -- Postfix's expiry names no recipient: it counts once per queue id, so
  -- the same line read again (a second feed, a log read twice) adds nothing.
  local tag = A_TAG
  if tag == '' and A_CLASS == 'expired' then
    tag = 'expired'
  end
  local n = bounce_cap(K_QID, q, A_NRCPT, tag)
  if n == 0 then
    none.login = login
    return reply(OUTCOME_REPLY, none)
  end
  local qid = string.match(K_QID, '([^:]*)$')
  local k = {quar = base .. A_SUFFIX_QUARANTINE,
             cnt = base .. A_SUFFIX_COUNTERS, events = K_EVENTS}
  local policy = A_CLASS == 'policy' and n or 0
  local _, newly, reason, seen = update(k, login, tier,
    {m = 0, r = 0, x = 0, b = n, policy = policy, refused = 0,
     at = q.at}, A_TAG, qid, 'feed')
  return reply(OUTCOME_REPLY, {login = login, newly_quarantined = newly,
                               reason = reason, seen = seen})
end

-- inspect's reply (SG_INSPECT_R_*), then per window INSPECT_WINDOW
local INSPECT_REPLY = {
  'tier',				-- SG_INSPECT_R_TIER
  'unknown_tier',			-- SG_INSPECT_R_UNKNOWN_TIER
  'quarantined',			-- SG_INSPECT_R_QUARANTINED
  'quarantine_reason',			-- SG_INSPECT_R_QUARANTINE_REASON
  'quarantine_since',			-- SG_INSPECT_R_QUARANTINE_SINCE
  'quarantine_by',			-- SG_INSPECT_R_QUARANTINE_BY
  'quarantine_source',			-- SG_INSPECT_R_QUARANTINE_SOURCE
  'held',				-- SG_INSPECT_R_HELD
  'score',				-- SG_INSPECT_R_SCORE
  'last',				-- SG_INSPECT_R_LAST
  'msgs',				-- SG_INSPECT_R_MSGS
  'rcpts',				-- SG_INSPECT_R_RCPTS
  'rejected',				-- SG_INSPECT_R_REJECTED
  'bounced',				-- SG_INSPECT_R_BOUNCED
  'policy',				-- SG_INSPECT_R_POLICY
  'refused',				-- SG_INSPECT_R_REFUSED
  'nwindows',				-- SG_INSPECT_R_NWINDOWS
}
local INSPECT_WINDOW = {
  'secs',				-- SG_INSPECT_W_SECS
  'messages',				-- SG_INSPECT_W_MESSAGES
  'recipients',				-- SG_INSPECT_W_RECIPIENTS
  'rejected',				-- SG_INSPECT_W_REJECTED
  'bounced',				-- SG_INSPECT_W_BOUNCED
}

-- inspect_windows - every window length in use, shortest first, with
-- the estimate of each kind counted at that length (-1: not counted)
local function inspect_windows(h, last, tier)
  local kinds = {m = {tier.m}, r = {tier.r, tier.qr, DETECT},
                 x = {tier.qx, tier.qf, DETECT}, b = {tier.qf, DETECT}}
  local byname = {m = 'messages', r = 'recipients', x = 'rejected',
                  b = 'bounced'}
  local at, lengths = {}, {}
  for kind, lists in pairs(kinds) do
    for i = 1, #lists do
      for j = 1, #lists[i] do
        local w = lists[i][j]
        if at[w[2]] == nil then
          at[w[2]] = {secs = w[2], messages = -1, recipients = -1,
                      rejected = -1, bounced = -1}
          lengths[#lengths + 1] = w[2]
        end
        local _, _, e = window(h, last, kind, w)
        at[w[2]][byname[kind]] = floor(e + 0.5)
      end
    end
  end
  table.sort(lengths)
  local out = {}
  for i = 1, #lengths do
    local group = reply(INSPECT_WINDOW, at[lengths[i]])
    for j = 1, #group do
      out[#out + 1] = group[j]
    end
  end
  return out, #lengths
end

-- inspect_op - an account's state, read only
local function inspect_op()
  local K_TIER = KEYS[1]			-- SG_INSPECT_K_TIER
  local K_QUARANTINE = KEYS[2]			-- SG_INSPECT_K_QUARANTINE
  local K_COUNTERS = KEYS[3]			-- SG_INSPECT_K_COUNTERS
  local K_HELD = KEYS[4]			-- SG_INSPECT_K_HELD
  local A_DEFAULT_TIER = ARGV[3]		-- SG_INSPECT_A_DEFAULT_TIER
  local A_TIERS = 4				-- SG_INSPECT_A_TIERS

  local tier, unknown = pick_tier(A_TIERS, redis.call('GET', K_TIER),
                                  A_DEFAULT_TIER)
  if tier == nil then
    return redis.error_reply('default tier ' .. A_DEFAULT_TIER ..
                             ' not in the request')
  end
  local quarantined = redis.call('EXISTS', K_QUARANTINE) == 1
  local q = redis.call('HMGET', K_QUARANTINE, 'reason', 'since', 'by',
                       'source')
  -- After a lift the next update starts afresh: show that state.
  local h, last = load(K_COUNTERS, quarantined)
  local windows, n = inspect_windows(h, last, tier)
  local out = reply(INSPECT_REPLY, {
    tier = tier.name, unknown_tier = unknown,
    quarantined = quarantined and 1 or 0,
    quarantine_reason = q[1] or '', quarantine_since = q[2] or '',
    quarantine_by = q[3] or '', quarantine_source = q[4] or '',
    held = redis.call('LLEN', K_HELD), score = h.s or '0', last = h.t or 0,
    msgs = h.msgs or 0, rcpts = h.rcpts or 0, rejected = h.rejected or 0,
    bounced = h.bounced or 0, policy = h.policy or 0,
    refused = h.refused or 0, nwindows = n})
  for i = 1, #windows do
    out[#out + 1] = windows[i]
  end
  return out
end

local OPS = {begin = begin_op, reserve = reserve_op, commit = commit_op,
             position = position_op,
             outcome = outcome_op, inspect = inspect_op}
if OPS[op] then
  return OPS[op]()
end
return redis.error_reply('unknown operation ' .. tostring(op))

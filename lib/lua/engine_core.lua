-- engine_core.lua - subguard's Redis-side engine, part 1 of 2: the model.
--
-- The script Redis runs is this file followed by engine_history.lua
-- (each account's history) and engine.lua (the operations), joined into one by lib/lua/embed.cmake: locals defined here
-- are the operations' helpers. Everything below describes the whole.
--
-- One script, loaded once as a Redis Functions library (FUNCTION LOAD)
-- and called (FCALL) from every subguard node, the log feed, replay and
-- subguardctl, so that all of them count one account as one. The
-- library and its one function are named sg_ and the SHA1 of this text
-- (redis/sg_redis_params.c): nodes of different versions call their own.
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
--          TIME N B TAGS F", see qid_record); no more than N bounces count, each recipient once
--          (see bounce_cap); the account's keys are then
--          derived here from the prefix and the suffixes the caller
--          passes (lib/sg_keys.c owns them), so this operation needs a
--          single Redis, not a Cluster. The feed's position is saved in
--          the same call (see counted_before); with class "none" only the
--          position is saved. A policy refusal also counts towards a
--          receiver incident of its domain (see incident_policy), and
--          any call ends the incidents quiet for long enough.
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
-- accepted), x (recipients the MTA rejected at submission), b (accepted
-- recipients that bounced later), e or c (see Detection). A sliding
-- window's count is estimated as cur + prev * (share of the previous
-- bucket still inside the window).
-- t is the time of the last update, which tells which bucket the stored
-- counts belong to. msgs, rcpts, rejected, bounced, policy and refused
-- are totals while the key lives; s is the detection score; fq the last
-- queue ids with failures; fr tags of the last failing addresses; tn
-- the tier last used (absent for the default tier, which k.deftier
-- names); q is set while the account is quarantined (see load). The key expires after twice its
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
-- the failures and the recipients they came from. One message adds at
-- most MSG_CAP of the bound to the windows (its failures are one
-- correlated observation, see message_cap), and the decision about a
-- message leaves out its own accepted recipients (see self_excluded).
-- Failures are weighed by cause (add.w). quarantine_failed is a safety
-- net on weighted failures per window, above spam_failure of its
-- recipients. Kinds e (weighted failures) and c (what the cap took off)
-- are counted in hundredths.
--
-- A spammer's list is full of different dead addresses; a customer who
-- keeps writing to one old friend's dead mailbox is not a spammer. So a
-- failure of an address that failed lately (its tag, a hash of the
-- address, is among the last 16 in field fr) is counted in the totals
-- but is no evidence: it stays a presumed delivery.

-- Redis loads the engine once as a Functions library and each FCALL
-- calls sg_entry (at the end of engine.lua), which sets these for the
-- call: the call's keys and arguments, the operation and the time, and
-- the standard functions used most (a library's top level may not touch
-- globals while it loads). Nothing else here changes from call to call:
-- the tables at this level are constants, but for the decoded tiers
-- below, which only ever hold what a call could compute again.
local KEYS, ARGV, op, now
local floor, min, max, tonumber
local LISTS = {'m', 'r', 'qr', 'qx', 'qf'}
-- Windows are {limit, seconds, seconds as text}: the text names the
-- fields, and turning a number into text is dear in Redis's Lua.
local SECS = {[60] = '60', [3600] = '3600', [86400] = '86400',
              [604800] = '604800'}
local DETECT = {{0, 3600, '3600'}, {0, 86400, '86400'}}	-- the test's gate

-- read_tier - decode a TIER: its name and its JSON numbers. Every call
-- brings the same few tiers, and decoding one was a sixth of a clean
-- message's time in Redis (docs/PERFORMANCE.md), so the library keeps
-- what it decoded, keyed by name and text: a tier whose text changes
-- (a reload, another node's configuration) is a new key. The tables are
-- shared between calls, so nothing may change a tier or its windows;
-- rcpt_windows builds new ones. At most TIERS_KEPT, then it starts over.
local TIERS_KEPT, tiers_seen, tiers_kept = 64, {}, 0
local function read_tier(name, spec)
  local key = name .. '\0' .. spec
  local t = tiers_seen[key]
  if t then
    return t
  end
  t = cjson.decode(spec)
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
  t.p1 = d[5] or 0
  if tiers_kept >= TIERS_KEPT then
    tiers_seen, tiers_kept = {}, 0
  end
  tiers_seen[key], tiers_kept = t, tiers_kept + 1
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
-- has been judged, so windows and score start afresh (totals and the
-- history profile stay: what the account's history knows still holds).
-- score_read, score_text - the counters hash keeps the failure test's
-- score s in ten-thousandths, as an integer: Redis stores "-1423" in 3
-- bytes of the hash's listpack where "-0.1423" takes 9, which keeps a
-- new account's hash in a smaller allocation. A value with a point was
-- written by an older engine (the score itself) and is read as such.
local function score_read(v)
  local x = tonumber(v)
  if x == nil then
    return 0
  end
  if string.find(v, '.', 1, true) then
    return x
  end
  return x / 10000
end

local function score_text(s)
  return string.format('%d', floor(s * 10000 + 0.5))
end

local function load(key, quarantined)
  local flat = redis.call('HGETALL', key)
  local h = {}
  for k = 1, #flat, 2 do
    h[flat[k]] = flat[k + 1]
  end
  if h.q and not quarantined then
    local kept = {}
    for _, f in ipairs({'msgs', 'rcpts', 'rejected', 'bounced', 'policy',
                        'refused', 'tn', 'p'}) do
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

-- rcpt_windows - the recipient windows that bind an account now. One
-- whose recipients of the last hour failed less than half as often as
-- a spam run's (the tier's spam_failure) may go SU (the tier's surge)
-- times over each window but the longest, never past the longest one's
-- limit: a customer's one-off mailing to a whole address book goes out
-- in one go, while a sender whose recipients fail is held to the plan's
-- pace, and the day's total stays the plan's. (Not the failure test's
-- score: floored at its lower bound, it forgets the clean recipients,
-- and a greeting's few stale addresses would close the way.)
local function rcpt_windows(tier, h, last)
  local wins, su = tier.r, tier.su or 1
  if su <= 1 or #wins < 2 then
    return wins
  end
  local _, _, r = window(h, last, 'r', DETECT[1])
  local _, _, x = window(h, last, 'x', DETECT[1])
  local _, _, b = window(h, last, 'b', DETECT[1])
  if x + b > tier.p1 / 2 * r then
    return wins
  end
  local top = wins[1]
  for i = 2, #wins do
    if wins[i][2] > top[2] then
      top = wins[i]
    end
  end
  local out = {}
  for i = 1, #wins do
    local w = wins[i]
    if w ~= top then
      w = {min(floor(w[1] * su), max(top[1], w[1])), w[2], w[3]}
    end
    out[i] = w
  end
  return out
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
--
-- A bounce weighs add.w (its cause's weight, see sg_dsn_weight()): a
-- nonexistent address or an expiry is a whole failure, a full mailbox,
-- a policy refusal or another cause half of one, a policy refusal
-- during a receiver incident nothing. e is the weighted failure count.
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
  local w = add.w or 1
  local delta = add.r * tier.ls + x * tier.lf + b * w * (tier.lf - tier.ls)
  return x, b, delta, fr, x + b * w
end

-- MSG_CAP - the most one message adds to the evidence, as a share of
-- the test's upper bound. A message's failures come from one address
-- book at one moment: they are one correlated observation, not many
-- independent ones, so no single message can quarantine by itself;
-- a spam run is many messages and crosses within a few.
local MSG_CAP = 0.6

-- message_cap - of delta, the evidence a message adds now, the part
-- that counts and the part the cap takes off, given f0 what the message
-- added before (uncapped; 0 for a new message). Returns counted,
-- capped, and the message's new uncapped total.
local function message_cap(tier, f0, delta)
  local cap = MSG_CAP * tier.upper
  local f1 = f0 + delta
  local counted = min(f1, cap) - min(f0, cap)
  return counted, delta - counted, f1
end

-- seen_by_hand - what support changed since the last update ("lift",
-- "tier OLD NEW" or ""), each change also an event
local function seen_by_hand(k, login, tier, h, lifted)
  local seen = ''
  if lifted then
    event(k.events, 'event', 'lift', 'login', login)
    seen = 'lift'
  end
  -- No tn in a hash that exists: the default tier; no hash: a first
  -- message, which changes nothing by hand.
  local old = h.tn or (next(h) ~= nil and k.deftier) or nil
  if old and old ~= tier.name then
    event(k.events, 'event', 'tier', 'login', login, 'from', old,
          'to', tier.name)
    seen = 'tier ' .. old .. ' ' .. tier.name
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
--
-- Kinds e (weighted failures) and c (evidence the per-message cap took
-- off) are counted in hundredths, Redis storing integers: the test of
-- each window weighs the same evidence as the score.
local function count_windows(h, last, tier, add, x, b, put, ev)
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
  count('r', {tier.r, tier.qr, tier.qf, tier.qx, DETECT}, add.r)
  count('x', {tier.qx, tier.qf, DETECT}, x)
  count('b', {tier.qf, DETECT}, b, add.at)
  count('e', {tier.qf, DETECT}, floor(ev.e * 100 + 0.5), add.at)
  count('c', {DETECT}, floor(ev.c * 100 + 0.5), add.at)
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
    local f = est['e' .. ss] / 100
    local n = est['r' .. ss] + est['x' .. ss]
    local e = f * tier.lf + max(n - f, 0) * tier.ls - est['c' .. ss] / 100
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
-- (the failure test, then the safety nets). quarantine_failed counts
-- weighted failures, and only where they are more than spam_failure of
-- the window's recipients: the net scales with a campaign's quality,
-- not with its size (an old list of 30,000 at 5% never crosses it).
-- quarantine_rejected counts the MTA's own refusals only where they are
-- at least the share at which the failure test weighs neither way (6.6%
-- for 2% against 15%): a spam run whose list the MTA refuses in bulk
-- still crosses it within a few hundred recipients, a big old list whose
-- few addresses at the ISP's own domains are gone (1,150 of 77,000 in
-- an hour or two) does not. With the test off it is a plain count.
local function quarantine_reason(tier, s, t, est)
  local even = 0
  if tier.lf > 0 then
    even = -tier.ls / (tier.lf - tier.ls)
  end
  if tier.lf > 0 and s >= tier.upper and t.llr >= tier.upper then
    return string.format('failure test: %d of %d recipients failed in %s ' ..
                         '(%.1f%%), score %.1f, over %.1f',
                         math.floor(t.f + 0.5), math.floor(t.n + 0.5),
                         human(t.win), 100 * t.ratio, math.min(s, t.llr),
                         tier.upper)
  end
  return over(tier.qf, 'failed recipients',
              function(secs)
                local f = est['e' .. secs] / 100
                local n = est['r' .. secs] + est['x' .. secs]
                if n <= 0 or f < tier.p1 * n then
                  return 0
                end
                return f
              end)
         or over(tier.qx, 'recipients rejected by the MTA',
                 function(secs)
                   local x = est['x' .. secs]
                   if x < even * (est['r' .. secs] + x) then
                     return 0
                   end
                   return x
                 end)
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

-- save - write the counters hash: removed fields, then changed ones.
-- keep: how long the profile written with them (engine_history.lua)
-- keeps the hash, nil if none was.
local function save(k, tier, wr, lifted, keep)
  if lifted then
    redis.call('DEL', k.cnt)
  elseif #wr.gone > 0 then
    redis.call('HDEL', k.cnt, unpack(wr.gone))
  end
  if #wr.out > 0 then
    redis.call('HSET', k.cnt, unpack(wr.out))
  end
  local ttl = ttl_of(tier)
  if keep then
    -- The longest either needs, which is what every such write sets.
    redis.call('EXPIRE', k.cnt, max(ttl, keep))
  elseif redis.call('TTL', k.cnt) < ttl then
    -- A profile keeps the hash longer: never shorten it.
    redis.call('EXPIRE', k.cnt, ttl)
  end
end

-- self_excluded - the evidence the decision about a message weighs: all
-- of it but that message's own accepted recipients. They have no outcome
-- yet; presumed delivered at the moment the message itself is judged,
-- they would let a message vouch for itself (a spammer adds recipients
-- to wash out his failures). They still count as presumed deliveries
-- for every later decision. Returns the score to test, and sets t.llr
-- to the window's evidence without them (capped as the message is).
local function self_excluded(tier, s0, delta, counted, add, t)
  if (add.r or 0) == 0 or tier.lf <= 0 then
    return max(tier.lower, s0 + delta)
  end
  local own = add.r * tier.ls
  local cd = message_cap(tier, add.f or 0, delta - own)
  t.llr = t.llr - counted + cd
  return max(tier.lower, s0 + delta - own)
end

-- update - add counts to an account, run the detection, maybe quarantine.
-- k: {quar, cnt, events, deftier}; add: {m, r, x, b, refused, policy, at};
-- tags: of the failing recipients; qid: for the evidence; add.w the
-- bounces' weight, add.f what the message added before (see
-- message_cap). Returns quarantined, newly, reason, what changed by
-- hand since the last update ("lift", "tier OLD NEW", or ""), for the
-- caller's log, and the message's uncapped evidence so far. profile, if
-- given, is called as profile(h, put, quarantined) just before the hash
-- is written, to add its own fields to the same write; it returns how
-- long they keep the hash (or nil).
local function update(k, login, tier, add, tags, qid, source, profile)
  local quarantined = redis.call('EXISTS', k.quar) == 1
  local h, last, lifted = load(k.cnt, quarantined)
  local x, b, delta, fr, e = evidence(h, tier, add, tags)
  local counted, capped, f1 = message_cap(tier, add.f or 0, delta)
  local seen = seen_by_hand(k, login, tier, h, lifted)
  local wr = writer(lifted)
  local put = wr.put
  if lifted and h.p and not profile then
    -- The hash is written afresh after a lift; the history profile
    -- outlives the quarantine, and keeps the hash as long as it did.
    local ttl = redis.call('TTL', k.cnt)
    profile = function(hh, p)
      p('p', hh.p, nil)
      return ttl > 0 and ttl or nil
    end
  end

  put('t', floor(now), tonumber(h.t))
  -- The default tier is not written: 13 bytes of every account's hash.
  put('tn', tier.name ~= k.deftier and tier.name or '', h.tn)
  local est = count_windows(h, last, tier, add, x, b, put,
                            {e = e, c = capped})
  local fq = count_totals(h, add, x, b, qid, put)
  put('fr', fr, h.fr)

  local s0 = score_read(h.s)
  local s = s0
  if tier.lf > 0 then
    s = max(tier.lower, s + delta)
  end
  local t = window_test(tier, est)
  local newly, reason = 0, ''
  if not quarantined then
    local sd = self_excluded(tier, s0, delta, counted, add, t)
    reason = quarantine_reason(tier, sd, t, est)
    if reason ~= '' then
      quarantined, newly = true, 1
      quarantine(k, login, tier, source, reason, s, t, fq)
    end
  else
    reason = redis.call('HGET', k.quar, 'reason') or ''
  end
  put('s', s ~= 0 and score_text(s) or 0, h.s)
  if quarantined then
    put('q', h.q or floor(now), h.q)
  end
  save(k, tier, wr, lifted, profile and profile(h, put, quarantined))
  return quarantined, newly, reason, seen, f1
end

-- Reservations. A message in flight holds room in the reservation hash
-- (PREFIX:{LOGIN}:resv): field its id, value "MSGS RCPTS EXPIRY [HIST]"
-- (HIST: the history room a message from a network the account does not
-- know holds, see begin_op; absent when none). begin
-- reserves one message and a chunk of recipients, reserve adds more,
-- commit removes the entry in the call that counts what was sent. Room
-- is the limit less the sliding estimate less every live reservation,
-- so concurrent messages, on one node or many, never share the same
-- room. Entries past EXPIRY are dropped by whichever call reads the
-- hash next, and the hash itself expires, so a node that died holds
-- room for RESV_TTL at most.

-- resv_read - the live reservations: sums of messages, recipients and
-- history room over all entries but except, and except's own entry
-- {m, r, h} or nil. Expired entries are removed.
local function resv_read(key, except)
  local flat = redis.call('HGETALL', key)
  local sm, sr, sh, own, dead = 0, 0, 0, nil, {}
  for i = 1, #flat, 2 do
    local m, r, x, hs = string.match(flat[i + 1],
                                     '^(%d+) (%d+) ([%d.]+) ?(%d*)$')
    m, r, x = tonumber(m), tonumber(r), tonumber(x)
    local h = tonumber(hs) or 0
    if not x or x <= now then
      dead[#dead + 1] = flat[i]
    elseif flat[i] == except then
      own = {m, r, h}
    else
      sm, sr, sh = sm + m, sr + r, sh + h
    end
  end
  if #dead > 0 then
    redis.call('HDEL', key, unpack(dead))
  end
  return sm, sr, own, sh
end

-- resv_write - set id's reservation to m messages, r recipients and h
-- history room (0: none), for ttl
local function resv_write(key, id, m, r, ttl, h)
  local v = string.format('%d %d %d', m, r, math.ceil(now + ttl))
  if (h or 0) > 0 then
    v = v .. string.format(' %d', h)
  end
  redis.call('HSET', key, id, v)
  local keep = math.ceil(ttl) + 1
  if redis.call('TTL', key) < keep then
    redis.call('EXPIRE', key, keep)
  end
end

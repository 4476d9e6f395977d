-- engine.lua - subguard's Redis-side engine, part 2 of 2: the operations.
--
-- Follows engine_core.lua in the one script Redis runs (lib/lua/embed.cmake
-- joins them): the tiers, windows, detection and reservations used here
-- are defined there, with the description of every operation's KEYS,
-- ARGV and reply. Each operation names its places as locals mirroring
-- lib/sg_engine_proto.h (tests/unit/test_proto.c holds them to it).

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
  'hist_room',				-- SG_BEGIN_R_HIST_ROOM
  'hist_limit',				-- SG_BEGIN_R_HIST_LIMIT
  'hist_count',				-- SG_BEGIN_R_HIST_COUNT
  'hist_retry',				-- SG_BEGIN_R_HIST_RETRY
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
  local A_NET = ARGV[8]				-- SG_BEGIN_A_NET
  local A_HISTORY = ARGV[9]			-- SG_BEGIN_A_HISTORY
  local A_TIERS = 10				-- SG_BEGIN_A_TIERS

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
  local r = check(h, last, 'r', rcpt_windows(tier, h, last)) or {-1, 0, 0, 0, 0}
  local m = check(h, last, 'm', tier.m) or {-1, 0, 0, 0, 0}
  local qr = check(h, last, 'r', tier.qr) or {-1}
  -- While the account is quarantined the quarantine decides what becomes
  -- of its mail (held, or refused): the history limit would only turn
  -- mail meant for support's hold into retries. It judges again from
  -- the lift on.
  local hroom, hlimit, hcount, hretry = -1, 0, 0, 0
  if qreason == '' then
    hroom, hlimit, hcount, hretry = history_begin(h, A_NET, A_HISTORY)
  end
  local limited = A_RESV_ID ~= '' and (#tier.m > 0 or #tier.r > 0)
  -- A message from a network the account does not know holds all the
  -- day's history room left while it is in flight: concurrent messages
  -- from new networks, on one node or many, never share the same room.
  local hheld = A_RESV_ID ~= '' and hroom >= 0
  if limited or hheld then
    -- Other messages in flight hold part of the room; the counts the
    -- log shows include what they hold.
    local sm, sr, _, sh = resv_read(K_RESV, A_RESV_ID)
    if limited and m[1] >= 0 then
      m[1], m[5] = max(0, m[1] - sm), m[5] + sm
    end
    if limited and r[1] >= 0 then
      r[1], r[5] = max(0, r[1] - sr), r[5] + sr
    end
    if hheld then
      hroom, hcount = max(0, hroom - sh), hcount + sh
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
  if (limited or hheld) and status ~= 'messages'
     and status ~= 'quarantined' then
    if r[1] >= 0 then
      r[1] = min(r[1], A_RESV_RCPTS)
    end
    resv_write(K_RESV, A_RESV_ID, 1, max(r[1], 0), A_RESV_TTL,
               hheld and hroom or 0)
  end
  return reply(BEGIN_REPLY, {
    status = status, tier = tier.name, unknown_tier = unknown,
    budget = r[1], rcpt_limit = r[2], rcpt_secs = r[3], rcpt_retry = r[4],
    msg_limit = m[2], msg_secs = m[3], msg_retry = m[4],
    quarantine_reason = qreason, rcpts_in_window = r[5],
    msgs_in_window = m[5], quarantine_room = qr[1], hist_room = hroom,
    hist_limit = hlimit, hist_count = hcount, hist_retry = hretry})
end

-- desk_index - the index of quarantined accounts (PREFIX:quarantined,
-- scored by since) and the held list follow what update saw: a new
-- quarantine enters the index with an empty held list (hold_max counts
-- per quarantine, not what a lift by plain DEL left behind); a lift seen
-- (or any change by hand) drops the account from the index and its
-- held list once the quarantine key is gone. A quarantine set by hand
-- with redis-cli HSET enters the index when the account next sends.
local function desk_index(index, quar, held, login, quarantined, newly, seen)
  if newly == 1 then
    redis.call('DEL', held)
    redis.call('ZADD', index, floor(now), login)
  elseif quarantined then
    local since = tonumber(redis.call('HGET', quar, 'since')) or floor(now)
    redis.call('ZADD', index, 'NX', since, login)
  elseif seen ~= '' then
    redis.call('DEL', held)
    redis.call('ZREM', index, login)
  end
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
  local K_INDEX = KEYS[7]			-- SG_COMMIT_K_INDEX
  local A_NET = ARGV[17]			-- SG_COMMIT_A_NET
  local A_HISTORY = ARGV[18]			-- SG_COMMIT_A_HISTORY
  local A_DEFAULT_TIER = ARGV[19]		-- SG_COMMIT_A_DEFAULT_TIER

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
  local k = {quar = K_QUARANTINE, cnt = K_COUNTERS, events = K_EVENTS,
             deftier = A_DEFAULT_TIER}
  -- The profile is written with the counts, in the same HSET.
  local function profile(h, put, q)
    return history_commit(h, put, A_NET, A_HISTORY, A_ACCEPTED, q)
  end
  local quarantined, newly, reason, seen, f1 = update(k, A_LOGIN, tier,
    {m = A_MESSAGE, r = A_ACCEPTED, x = A_REJECTED, b = 0, policy = 0,
     refused = A_REFUSED}, A_TAGS, A_QID, 'submission', profile)
  desk_index(K_INDEX, K_QUARANTINE, K_HELD, A_LOGIN, quarantined, newly,
             seen)

  if A_MESSAGE == 1 and A_QID ~= '' then
    -- Without failures at submission F is N ls, which the outcome knows:
    -- the common record stays short (an embstr).
    local rec = A_REJECTED > 0 and
      string.format('%s %d %d 0 - %.3f', A_LOGIN, floor(now), A_ACCEPTED, f1)
      or string.format('%s %d %d', A_LOGIN, floor(now), A_ACCEPTED)
    redis.call('SET', K_QID, rec, 'EX', tonumber(A_QID_TTL))
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
  local r = check(h, last, 'r', rcpt_windows(tier, h, last))
  local _, sr, own = resv_read(K_RESV, A_RESV_ID)
  -- An entry that expired meanwhile is taken up again (without the
  -- history room it held: past reserve_ttl a message holds none).
  own = own or {1, 0, 0}
  local granted = A_WANT
  if r then
    granted = max(0, min(A_WANT, r[1] - sr - own[2]))
  end
  if granted > 0 then
    resv_write(K_RESV, A_RESV_ID, own[1], own[2] + granted, A_RESV_TTL,
               own[3])
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
  'incident_domain',			-- SG_OUTCOME_R_INCIDENT_DOMAIN
  'incident_state',			-- SG_OUTCOME_R_INCIDENT_STATE
  'incident_logins',			-- SG_OUTCOME_R_INCIDENT_LOGINS
}

-- journal_at_or_past - whether journal position saved ("journal:BOOT:
-- MONO:REALTIME:CURSOR", feed/sg_journal.h) is at or past position: the
-- same sequence (cursor s=) by its number (i=, hex), else the same boot
-- by monotonic time, else by wall-clock time
local function journal_at_or_past(saved, position)
  local pat = '^journal:(%x+):(%d+):(%d+):(.*)$'
  local sb, sm, sr, sc = string.match(saved, pat)
  local nb, nm, nr, nc = string.match(position, pat)
  if not (sb and nb) then return false end
  local ss, si = string.match(sc, 's=(%x+);i=(%x+)')
  local ns, ni = string.match(nc, 's=(%x+);i=(%x+)')
  if ss and ns and ss == ns then
    return tonumber(si, 16) >= tonumber(ni, 16)
  elseif sb == nb then
    return tonumber(sm) >= tonumber(nm)
  end
  return tonumber(sr) >= tonumber(nr)
end

-- counted_before - whether a feed line was counted already: a restarted
-- feed neither loses nor double counts a line, and one sent again after
-- a timeout (Redis ran it, the answer was late) finds a saved position
-- at or past its own (same inode). Positions are "dev:inode:offset", or
-- the journal's (journal_at_or_past).
-- Otherwise the line's position is saved.
local function counted_before(key, position)
  local saved = redis.call('GET', key)
  if saved and journal_at_or_past(saved, position) then
    return true
  end
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

-- qid_record - the qid key's value: "LOGIN TIME N B TAGS F": B of the
-- N accepted recipients bounced so far; TAGS, comma separated, the tags
-- of those ("-": none); F the evidence the message added so far,
-- uncapped (see message_cap), so its later bounces are capped too.
-- Commit writes "LOGIN TIME N" for a message without failures at
-- submission: F is then N ls (see outcome_op). A record "LOGIN TIME"
-- (an older version) has no N: its bounces are not capped.
local function qid_record(text)
  local f = {}
  for w in string.gmatch(text, '%S+') do
    f[#f + 1] = w
  end
  local tags = f[5] or ''
  if tags == '-' then
    tags = ''
  end
  return {login = f[1], at = tonumber(f[2]), n = tonumber(f[3]),
          b = tonumber(f[4]) or 0, tags = tags, f = tonumber(f[6])}
end

-- qid_save - write back the qid record q, keeping the key's expiry
local function qid_save(key, q)
  redis.call('SET', key, string.format('%s %d %d %d %s %.3f', q.login,
             q.at or 0, q.n, q.b, q.tags ~= '' and q.tags or '-', q.f),
             'KEEPTTL')
end

-- Receiver incidents. When one receiving domain refuses by policy the
-- mail of many accounts at once, the relay is listed or the receiver
-- misbehaves: no account's evidence. PREFIX:incident:DOMAIN is a sorted
-- set of the logins it refused by policy (score: the last time) within
-- the window; once it holds logins of them, the domain enters the
-- sorted set PREFIX:incidents (score: its last policy refusal), and
-- while it is there its policy refusals weigh nothing. It leaves by
-- itself after quiet seconds without a new policy refusal.

-- incident_end - end the incidents quiet for long enough; the first
-- ended (domain) or nil
local function incident_end(prefix, quiet, events)
  local key = prefix .. ':incidents'
  local gone = redis.call('ZRANGEBYSCORE', key, '-inf', now - quiet)
  for i = 1, #gone do
    redis.call('ZREM', key, gone[i])
    event(events, 'event', 'incident', 'domain', gone[i], 'state', 'end')
  end
  return gone[1]
end

-- incident_policy - a policy refusal of login by domain: whether an
-- incident is on for domain, and the state change ("start" or nil)
-- with the number of distinct logins refused within the window
local function incident_policy(prefix, domain, login, spec, events)
  local key = prefix .. ':incident:' .. domain
  local all = prefix .. ':incidents'
  redis.call('ZADD', key, now, login)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - spec.window)
  redis.call('EXPIRE', key, math.ceil(spec.window + spec.quiet))
  local n = redis.call('ZCARD', key)
  if redis.call('ZSCORE', all, domain) then
    redis.call('ZADD', all, now, domain)
    return true, nil, n
  end
  if n < spec.logins then
    return false, nil, n
  end
  redis.call('ZADD', all, now, domain)
  redis.call('EXPIRE', all, math.ceil(spec.window + spec.quiet) * 48)
  event(events, 'event', 'incident', 'domain', domain, 'state', 'start',
        'logins', n)
  return true, 'start', n
end

-- bounce_cap - how many of nrcpt bounced recipients of a queue id count:
-- never more than the message had accepted, each recipient (its tag) at
-- most once, and none for a message with no accepted recipient. A log
-- line repeated, forged or belonging to a later message that reused the
-- queue id can add nothing past that. Notes what it counted in q (the
-- caller writes it back with qid_save).
local function bounce_cap(q, nrcpt, tag)
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
  if tag ~= '' then
    q.tags = q.tags == '' and tag or q.tags .. ',' .. tag
  end
  q.b = q.b + n
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
  local A_SUFFIX_HELD = ARGV[12]		-- SG_OUTCOME_A_SUFFIX_HELD
  local A_WEIGHT = tonumber(ARGV[13]) or 1	-- SG_OUTCOME_A_WEIGHT
  local A_DOMAIN = ARGV[14]			-- SG_OUTCOME_A_DOMAIN
  local A_INCIDENT_LOGINS = tonumber(ARGV[15])	-- SG_OUTCOME_A_INCIDENT_LOGINS
  local A_INCIDENT_WINDOW = tonumber(ARGV[16])	-- SG_OUTCOME_A_INCIDENT_WINDOW
  local A_INCIDENT_QUIET = tonumber(ARGV[17])	-- SG_OUTCOME_A_INCIDENT_QUIET
  local A_TIERS = 18				-- SG_OUTCOME_A_TIERS
  local K_INDEX = KEYS[4]			-- SG_OUTCOME_K_INDEX

  local sent = K_QID ~= '' and redis.call('GET', K_QID)
  local q = sent and qid_record(sent) or {}
  local login = q.login
  local none = {login = '', newly_quarantined = 0, reason = '', seen = '',
                incident_domain = '', incident_state = '', incident_logins = 0}
  if K_POSITION ~= '' and A_POSITION ~= ''
     and counted_before(K_POSITION, A_POSITION) then
    none.login = login or ''
    return reply(OUTCOME_REPLY, none)
  end
  local incidents = A_INCIDENT_LOGINS and A_INCIDENT_LOGINS > 0
  if incidents then
    local ended = incident_end(A_PREFIX, A_INCIDENT_QUIET, K_EVENTS)
    if ended then
      none.incident_domain, none.incident_state = ended, 'end'
    end
  end
  if not login then
    return reply(OUTCOME_REPLY, none)
  end
  none.login = login
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
  local n = bounce_cap(q, A_NRCPT, tag)
  if n == 0 then
    return reply(OUTCOME_REPLY, none)
  end
  local weight = A_WEIGHT
  if incidents and A_CLASS == 'policy' and A_DOMAIN ~= '' then
    local on, state, nl = incident_policy(A_PREFIX, A_DOMAIN, login,
      {logins = A_INCIDENT_LOGINS, window = A_INCIDENT_WINDOW,
       quiet = A_INCIDENT_QUIET}, K_EVENTS)
    if on then
      weight = 0
    end
    if state then
      none.incident_domain, none.incident_state = A_DOMAIN, state
      none.incident_logins = nl
    end
  end
  if q.f == nil then
    q.f = (q.n or 0) * tier.ls			-- its presumed deliveries
  end
  local qid = string.match(K_QID, '([^:]*)$')
  local k = {quar = base .. A_SUFFIX_QUARANTINE,
             cnt = base .. A_SUFFIX_COUNTERS, events = K_EVENTS,
             deftier = A_DEFAULT_TIER}
  local policy = A_CLASS == 'policy' and n or 0
  local quarantined, newly, reason, seen, f1 = update(k, login, tier,
    {m = 0, r = 0, x = 0, b = n, policy = policy, refused = 0,
     at = q.at, w = weight, f = q.f}, A_TAG, qid, 'feed')
  desk_index(K_INDEX, k.quar, base .. A_SUFFIX_HELD, login, quarantined,
             newly, seen)
  if q.n ~= nil then
    q.f = f1
    qid_save(K_QID, q)
  end
  none.newly_quarantined, none.reason, none.seen = newly, reason, seen
  return reply(OUTCOME_REPLY, none)
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
  'held_ids',				-- SG_INSPECT_R_HELD_IDS
  'evidence',				-- SG_INSPECT_R_EVIDENCE
  'hist_since',				-- SG_INSPECT_R_HIST_SINCE
  'hist_usual',				-- SG_INSPECT_R_HIST_USUAL
  'hist_today',				-- SG_INSPECT_R_HIST_TODAY
  'hist_today_new',			-- SG_INSPECT_R_HIST_TODAY_NEW
  'hist_room',				-- SG_INSPECT_R_HIST_ROOM
  'hist_nets',				-- SG_INSPECT_R_HIST_NETS
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

-- inspect_evidence - the quarantine hash's evidence, "name=value ..."
local function inspect_evidence(key)
  local names = {'score', 'ratio', 'window', 'rcpts', 'failed', 'qids'}
  local v = redis.call('HMGET', key, unpack(names))
  local out = {}
  for i = 1, #names do
    if v[i] and v[i] ~= '' then
      out[#out + 1] = names[i] .. '=' .. string.gsub(v[i], ' ', ',')
    end
  end
  return table.concat(out, ' ')
end

-- inspect_op - an account's state, read only
local function inspect_op()
  local K_TIER = KEYS[1]			-- SG_INSPECT_K_TIER
  local K_QUARANTINE = KEYS[2]			-- SG_INSPECT_K_QUARANTINE
  local K_COUNTERS = KEYS[3]			-- SG_INSPECT_K_COUNTERS
  local K_HELD = KEYS[4]			-- SG_INSPECT_K_HELD
  local A_DEFAULT_TIER = ARGV[3]		-- SG_INSPECT_A_DEFAULT_TIER
  local A_HISTORY = ARGV[4]			-- SG_INSPECT_A_HISTORY
  local A_TIERS = 5				-- SG_INSPECT_A_TIERS

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
  local hs, hu, ht, hn, hr, hnets = history_inspect(h, A_HISTORY)
  local out = reply(INSPECT_REPLY, {
    tier = tier.name, unknown_tier = unknown,
    quarantined = quarantined and 1 or 0,
    quarantine_reason = q[1] or '', quarantine_since = q[2] or '',
    quarantine_by = q[3] or '', quarantine_source = q[4] or '',
    held = redis.call('LLEN', K_HELD), score = string.format('%.4f', score_read(h.s)), last = h.t or 0,
    msgs = h.msgs or 0, rcpts = h.rcpts or 0, rejected = h.rejected or 0,
    bounced = h.bounced or 0, policy = h.policy or 0,
    refused = h.refused or 0, nwindows = n,
    held_ids = table.concat(redis.call('LRANGE', K_HELD, 0, 49), ' '),
    evidence = inspect_evidence(K_QUARANTINE),
    hist_since = hs, hist_usual = hu, hist_today = ht, hist_today_new = hn,
    hist_room = hr, hist_nets = hnets})
  for i = 1, #windows do
    out[#out + 1] = windows[i]
  end
  return out
end

local OPS = {begin = begin_op, reserve = reserve_op, commit = commit_op,
             position = position_op,
             outcome = outcome_op, inspect = inspect_op,
             lift = lift_op, quarantine = quarantine_op,
             settier = settier_op, trust = trust_op, qlist = qlist_op,
             events = events_op,
             scan = scan_op}
-- sg_entry - one FCALL: the call's places become the library's KEYS and
-- ARGV (see engine_core.lua), then the operation runs. The program
-- registers it (redis.register_function) under the library's name; it
-- must stay the last local of the script.
local function sg_entry(keys, args)
  KEYS, ARGV = keys, args
  floor, min, max, tonumber = math.floor, math.min, math.max, _G.tonumber
  local a_op = ARGV[1]				-- SG_A_OP
  local a_now = ARGV[2]				-- SG_A_NOW
  op, now = a_op, tonumber(a_now)
  local f = OPS[op]
  if f then
    return f()
  end
  return redis.error_reply('unknown operation ' .. tostring(op))
end

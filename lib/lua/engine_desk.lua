-- engine_desk.lua - subguard's Redis-side engine, the support desk's
-- operations: lift, quarantine, settier, trust, qlist, events, scan.
--
-- Joined into the one script Redis runs between engine_core.lua (the
-- model: its helpers are used here) and engine.lua (the daemon's
-- operations and the table of all operations), by lib/lua/embed.cmake.
-- Each operation names its places as locals mirroring
-- lib/sg_engine_proto.h (tests/unit/test_proto.c holds them to it).
-- ctl/subguardctl calls them through lib/sg_desk.c.

-- lift's reply (SG_LIFT_R_*)
local LIFT_REPLY = {
  'lifted',				-- SG_LIFT_R_LIFTED
  'reason',				-- SG_LIFT_R_REASON
  'held',				-- SG_LIFT_R_HELD
}

-- desk_fresh - after a lift the windows and the score start afresh, the
-- totals and the history profile stay (as load does for a lift seen by
-- an update), keeping the counters' expiry
local function desk_fresh(key)
  local ttl = redis.call('PTTL', key)
  local h, _, lifted = load(key, false)
  if not lifted then
    return
  end
  redis.call('DEL', key)
  local out = {}
  for _, f in ipairs({'msgs', 'rcpts', 'rejected', 'bounced', 'policy',
                      'refused', 'tn', 'p'}) do
    if h[f] then
      out[#out + 1] = f
      out[#out + 1] = h[f]
    end
  end
  if #out > 0 then
    redis.call('HSET', key, unpack(out))
    if ttl > 0 then
      redis.call('PEXPIRE', key, ttl)
    end
  end
end

-- lift_op - remove a quarantine and its held list, with who and why
local function lift_op()
  local K_QUARANTINE = KEYS[1]			-- SG_LIFT_K_QUARANTINE
  local K_HELD = KEYS[2]			-- SG_LIFT_K_HELD
  local K_COUNTERS = KEYS[3]			-- SG_LIFT_K_COUNTERS
  local K_INDEX = KEYS[4]			-- SG_LIFT_K_INDEX
  local K_EVENTS = KEYS[5]			-- SG_LIFT_K_EVENTS
  local A_LOGIN = ARGV[3]			-- SG_LIFT_A_LOGIN
  local A_BY = ARGV[4]				-- SG_LIFT_A_BY
  local A_WHY = ARGV[5]				-- SG_LIFT_A_WHY

  local held = table.concat(redis.call('LRANGE', K_HELD, 0, -1), ' ')
  local lifted = redis.call('EXISTS', K_QUARANTINE) == 1
  local reason = redis.call('HGET', K_QUARANTINE, 'reason') or ''
  redis.call('DEL', K_QUARANTINE, K_HELD)
  redis.call('ZREM', K_INDEX, A_LOGIN)
  if lifted then
    desk_fresh(K_COUNTERS)
    event(K_EVENTS, 'event', 'lift', 'login', A_LOGIN, 'by', A_BY,
          'why', A_WHY, 'reason', reason, 'held', held)
  end
  return reply(LIFT_REPLY, {lifted = lifted and 1 or 0, reason = reason,
                            held = held})
end

-- quarantine's reply (SG_QUARANTINE_R_*)
local QUARANTINE_REPLY = {
  'new',				-- SG_QUARANTINE_R_NEW
  'reason',				-- SG_QUARANTINE_R_REASON
}

-- quarantine_op - quarantine an account by hand, with who and why
local function quarantine_op()
  local K_QUARANTINE = KEYS[1]			-- SG_QUARANTINE_K_QUARANTINE
  local K_HELD = KEYS[2]			-- SG_QUARANTINE_K_HELD
  local K_INDEX = KEYS[3]			-- SG_QUARANTINE_K_INDEX
  local K_EVENTS = KEYS[4]			-- SG_QUARANTINE_K_EVENTS
  local A_LOGIN = ARGV[3]			-- SG_QUARANTINE_A_LOGIN
  local A_BY = ARGV[4]				-- SG_QUARANTINE_A_BY
  local A_WHY = ARGV[5]				-- SG_QUARANTINE_A_WHY

  if redis.call('EXISTS', K_QUARANTINE) == 1 then
    return reply(QUARANTINE_REPLY, {new = 0,
      reason = redis.call('HGET', K_QUARANTINE, 'reason') or ''})
  end
  redis.call('HSET', K_QUARANTINE, 'since', floor(now), 'reason', A_WHY,
             'by', A_BY, 'source', 'desk')
  redis.call('DEL', K_HELD)
  redis.call('ZADD', K_INDEX, floor(now), A_LOGIN)
  event(K_EVENTS, 'event', 'quarantine', 'login', A_LOGIN, 'reason', A_WHY,
        'source', 'desk', 'by', A_BY)
  return reply(QUARANTINE_REPLY, {new = 1, reason = A_WHY})
end

-- settier's reply (SG_SETTIER_R_*)
local SETTIER_REPLY = {
  'old',				-- SG_SETTIER_R_OLD
}

-- settier_op - set or clear an account's tier key, recorded
local function settier_op()
  local K_TIER = KEYS[1]			-- SG_SETTIER_K_TIER
  local K_EVENTS = KEYS[2]			-- SG_SETTIER_K_EVENTS
  local A_LOGIN = ARGV[3]			-- SG_SETTIER_A_LOGIN
  local A_NAME = ARGV[4]			-- SG_SETTIER_A_NAME
  local A_BY = ARGV[5]				-- SG_SETTIER_A_BY

  local old = redis.call('GET', K_TIER) or ''
  if A_NAME == '' then
    redis.call('DEL', K_TIER)
  else
    redis.call('SET', K_TIER, A_NAME)
  end
  event(K_EVENTS, 'event', 'tier', 'login', A_LOGIN, 'from', old,
        'to', A_NAME, 'by', A_BY)
  return reply(SETTIER_REPLY, {old = old})
end

-- trust's reply (SG_TRUST_R_*)
local TRUST_REPLY = {
  'was',				-- SG_TRUST_R_WAS
  'known',				-- SG_TRUST_R_KNOWN
}

-- trust_op - support confirms a network for an account (the customer
-- called from a hotel): it becomes known now, as if learnt, so the
-- history limit no longer applies to mail from it. The rest of the
-- profile (usual volume, the day's count, the ramp) stays; an account
-- with no profile gets one that knows this network. WAS tells what the
-- network was: known, learning, refused (the room refused some of its
-- mail) or new.
local function trust_op()
  local K_COUNTERS = KEYS[1]			-- SG_TRUST_K_COUNTERS
  local K_EVENTS = KEYS[2]			-- SG_TRUST_K_EVENTS
  local A_LOGIN = ARGV[3]			-- SG_TRUST_A_LOGIN
  local A_NET = ARGV[4]				-- SG_TRUST_A_NET
  local A_NET_TEXT = ARGV[5]			-- SG_TRUST_A_NET_TEXT
  local A_BY = ARGV[6]				-- SG_TRUST_A_BY
  local A_WHY = ARGV[7]				-- SG_TRUST_A_WHY
  local A_HISTORY = ARGV[8]			-- SG_TRUST_A_HISTORY

  local params = hist_params(A_HISTORY)
  if params == nil or not string.match(A_NET, '^%x+$') then
    return redis.error_reply('trust: history is off or the network is bad')
  end
  local today = floor(now / 86400)
  local p = hist_read(redis.call('HGET', K_COUNTERS, 'p'), today)
  local e = hist_find(p, A_NET)
  local was = 'new'
  if e == nil then
    e = {key = A_NET}
    hist_add(p, e)
  else
    was = ({['.'] = 'known', ['-'] = 'learning', ['!'] = 'refused'})[e.mark]
  end
  e.mark, e.v = '.', today
  local known = 0
  for _, x in ipairs(p.nets) do
    if x.mark == '.' then
      known = known + 1
    end
  end
  redis.call('HSET', K_COUNTERS, 'p', hist_text(p))
  local ttl = redis.call('TTL', K_COUNTERS)
  if ttl >= 0 and ttl < params.keep or ttl == -1 and
     redis.call('HLEN', K_COUNTERS) == 1 then
    redis.call('EXPIRE', K_COUNTERS, params.keep)
  end
  event(K_EVENTS, 'event', 'trust', 'login', A_LOGIN, 'network', A_NET_TEXT,
        'was', was, 'by', A_BY, 'why', A_WHY)
  return reply(TRUST_REPLY, {was = was, known = known})
end

-- qlist's reply (SG_QLIST_R_*), then per account QLIST_ENTRY
local QLIST_REPLY = {
  'count',				-- SG_QLIST_R_COUNT
  'healed',				-- SG_QLIST_R_HEALED
}
local QLIST_ENTRY = {
  'login',				-- SG_QLIST_E_LOGIN
  'since',				-- SG_QLIST_E_SINCE
  'reason',				-- SG_QLIST_E_REASON
  'by',					-- SG_QLIST_E_BY
  'source',				-- SG_QLIST_E_SOURCE
  'held',				-- SG_QLIST_E_HELD
}

-- qlist_op - the quarantined accounts, newest first; an account whose
-- quarantine key is gone (lifted with plain DEL, or expired) leaves the
-- index here
local function qlist_op()
  local K_INDEX = KEYS[1]			-- SG_QLIST_K_INDEX
  local A_PREFIX = ARGV[3]			-- SG_QLIST_A_PREFIX
  local A_SUFFIX_QUARANTINE = ARGV[4]		-- SG_QLIST_A_SUFFIX_QUARANTINE
  local A_SUFFIX_HELD = ARGV[5]			-- SG_QLIST_A_SUFFIX_HELD
  local A_MAX = tonumber(ARGV[6])		-- SG_QLIST_A_MAX

  local all = redis.call('ZREVRANGE', K_INDEX, 0, -1, 'WITHSCORES')
  local out, n, healed = {}, 0, 0
  for i = 1, #all, 2 do
    local base = A_PREFIX .. ':{' .. all[i] .. '}:'
    local q = redis.call('HMGET', base .. A_SUFFIX_QUARANTINE, 'since',
                         'reason', 'by', 'source')
    if redis.call('EXISTS', base .. A_SUFFIX_QUARANTINE) == 0 then
      redis.call('ZREM', K_INDEX, all[i])
      healed = healed + 1
    elseif n < A_MAX then
      n = n + 1
      local e = reply(QLIST_ENTRY, {login = all[i], since = q[1] or all[i + 1],
        reason = q[2] or '', by = q[3] or '', source = q[4] or '',
        held = redis.call('LLEN', base .. A_SUFFIX_HELD)})
      for j = 1, #e do
        out[#out + 1] = e[j]
      end
    end
  end
  local head = reply(QLIST_REPLY, {count = n, healed = healed})
  for j = 1, #out do
    head[#head + 1] = out[j]
  end
  return head
end

-- events' reply (SG_EVENTS_R_*), then per entry its id, the number of
-- its fields and the fields' names and values
local EVENTS_REPLY = {
  'count',				-- SG_EVENTS_R_COUNT
}

-- events_field - an entry's field by name, or ''
local function events_field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then
      return flat[i + 1]
    end
  end
  return ''
end

-- events_op - the events stream, newest first, filtered
local function events_op()
  local K_EVENTS = KEYS[1]			-- SG_EVENTS_K_EVENTS
  local A_SINCE = tonumber(ARGV[3]) or 0	-- SG_EVENTS_A_SINCE
  local A_LOGIN = ARGV[4]			-- SG_EVENTS_A_LOGIN
  local A_TYPE = ARGV[5]			-- SG_EVENTS_A_TYPE
  local A_MAX = tonumber(ARGV[6])		-- SG_EVENTS_A_MAX

  local low = A_SINCE > 0 and string.format('%d', A_SINCE * 1000) or '-'
  local all = redis.call('XREVRANGE', K_EVENTS, '+', low)
  local out, n = {}, 0
  for i = 1, #all do
    local flat = all[i][2]
    if n < A_MAX
       and (A_LOGIN == '' or events_field(flat, 'login') == A_LOGIN)
       and (A_TYPE == '' or events_field(flat, 'event') == A_TYPE) then
      n = n + 1
      out[#out + 1] = all[i][1]
      out[#out + 1] = #flat / 2
      for j = 1, #flat do
        out[#out + 1] = flat[j]
      end
    end
  end
  local head = reply(EVENTS_REPLY, {count = n})
  for j = 1, #out do
    head[#head + 1] = out[j]
  end
  return head
end

-- scan's reply (SG_SCAN_R_*), then per account SCAN_ENTRY
local SCAN_REPLY = {
  'cursor',				-- SG_SCAN_R_CURSOR
  'count',				-- SG_SCAN_R_COUNT
}
local SCAN_ENTRY = {
  'login',				-- SG_SCAN_E_LOGIN
  'tier',				-- SG_SCAN_E_TIER
  'ratio',				-- SG_SCAN_E_RATIO
  'what',				-- SG_SCAN_E_WHAT
}

-- scan_nearest - the limit or bound an account is nearest: use over
-- limit, and in words
local function scan_nearest(h, last, tier)
  local best, what = 0, ''
  for _, k in ipairs({{'m', tier.m, 'messages'}, {'r', tier.r, 'recipients'}}) do
    for i = 1, #k[2] do
      local w = k[2][i]
      local _, _, e = window(h, last, k[1], w)
      if w[1] > 0 and e / w[1] > best then
        best = e / w[1]
        what = string.format('%d of %d %s in %s', floor(e + 0.5), w[1], k[3],
                             human(w[2]))
      end
    end
  end
  local s = score_read(h.s)
  if tier.lf > 0 and tier.upper > 0 and s / tier.upper > best then
    best = s / tier.upper
    what = string.format('score %.2f of bound %.2f', s, tier.upper)
  end
  return best, what
end

-- scan_op - one SCAN step: each account's nearest limit or bound
local function scan_op()
  local A_PREFIX = ARGV[3]			-- SG_SCAN_A_PREFIX
  local A_CURSOR = ARGV[4]			-- SG_SCAN_A_CURSOR
  local A_COUNT = ARGV[5]			-- SG_SCAN_A_COUNT
  local A_DEFAULT_TIER = ARGV[6]		-- SG_SCAN_A_DEFAULT_TIER
  local A_SUFFIX_TIER = ARGV[7]			-- SG_SCAN_A_SUFFIX_TIER
  local A_SUFFIX_QUARANTINE = ARGV[8]		-- SG_SCAN_A_SUFFIX_QUARANTINE
  local A_SUFFIX_COUNTERS = ARGV[9]		-- SG_SCAN_A_SUFFIX_COUNTERS
  local A_TIERS = 10				-- SG_SCAN_A_TIERS

  local r = redis.call('SCAN', A_CURSOR, 'MATCH',
                       A_PREFIX .. ':{*}:' .. A_SUFFIX_COUNTERS,
                       'COUNT', A_COUNT)
  local out, n = {}, 0
  for _, key in ipairs(r[2]) do
    -- PREFIX:{LOGIN}:SUFFIX, as sg_account_key() in lib/sg_keys.c
    local login = string.sub(key, #A_PREFIX + 3, -(#A_SUFFIX_COUNTERS + 3))
    local base = A_PREFIX .. ':{' .. login .. '}:'
    local tier = pick_tier(A_TIERS, redis.call('GET', base .. A_SUFFIX_TIER),
                           A_DEFAULT_TIER)
    if tier then
      local h, last = load(key, redis.call('EXISTS',
                                           base .. A_SUFFIX_QUARANTINE) == 1)
      local ratio, what = scan_nearest(h, last, tier)
      local e = reply(SCAN_ENTRY, {login = login, tier = tier.name,
                                   ratio = string.format('%.4f', ratio),
                                   what = what})
      for j = 1, #e do
        out[#out + 1] = e[j]
      end
      n = n + 1
    end
  end
  local head = reply(SCAN_REPLY, {cursor = r[1], count = n})
  for j = 1, #out do
    head[#head + 1] = out[j]
  end
  return head
end

-- engine_history.lua - subguard's Redis-side engine, part 2 of 3: each
-- account's own history.
--
-- Follows engine_core.lua and precedes engine.lua in the one script
-- Redis runs (lib/lua/embed.cmake joins them). begin asks history_begin
-- how many recipients a message from the client's network may have;
-- commit tells history_commit what was sent, and from where.
--
-- What it is for. A stolen password is most often used from a network
-- the account never used, to write to the owner's contacts: clean
-- addresses, so the failure test sees nothing, and 50 to 300 recipients,
-- under any plan's hourly limit. The owner's own surges (a greeting to the
-- whole address book) come from home. So mail from a network the account
-- has not used before gets a daily room tied to the account's usual
-- volume, while its known networks get no limit from here at all:
--
--   room a UTC day = (FLOOR + FACTOR * usual) * ramp
--
-- usual is the account's usual daily number of recipients from its known
-- networks (on the days it sends); ramp grows from 1/2 to 1 over RAMP seconds of clean history, so
-- a young account gets less room. Every recipient accepted from a network
-- not yet known counts against the day's room, whichever such network it
-- came from. A network becomes known once it is seen again LEARN seconds
-- after it was first seen, unless the room refused mail from it: a
-- phishing run from a new network does not teach its network by coming
-- back. An account with no network known, or on its profile's first UTC
-- day, is not judged (there is nothing to compare with yet); a quarantine
-- restarts the ramp (as of the day before: the account is judged at once)
-- and forgets networks not yet known.
--
-- The profile is field p of the counters hash, kept short (memory is
-- budgeted per active login), numbers in base 36:
--
--   "S T U D N NET..."
--
-- S the day (since the epoch) the clean history started, T the
-- recipients of day D, U the usual daily recipients times 10, D the day T
-- and N count, N those of T from networks not known; zeros at the end
-- are left out. Each NET is a network key
-- (sg_net.h, hex) then a mark and a number: "KEY.DAY" a known network last
-- used on DAY; "KEY-HOUR" a network first seen at HOUR, being learnt;
-- "KEY!HOUR" the same, but the room refused some of its mail. D, DAY and
-- HOUR count from day S (its first hour), which keeps them short; b36
-- writes a time before S (a clock behind) as S. At most
-- HIST_NETS networks; a new one takes the place of the oldest one being
-- learnt, else of the known one unused longest. Networks unused for
-- KEEP seconds are forgotten, and the hash lives KEEP after the last
-- message that wrote a profile.
--
-- HISTORY (an argument of begin and commit) is "FLOOR FACTOR RAMP LEARN
-- KEEP" (times in seconds), or "" when history is off.

local HIST_NETS = 4		-- networks a profile remembers
local HIST_ALPHA = 0.2		-- weight of a new day in the usual volume
local B36 = '0123456789abcdefghijklmnopqrstuvwxyz'

-- b36 - a whole number >= 0 in base 36
local function b36(n)
  n = floor(n)
  if n <= 0 then
    return '0'
  end
  local out = ''
  while n > 0 do
    local r = n % 36
    out = string.sub(B36, r + 1, r + 1) .. out
    n = floor(n / 36)
  end
  return out
end

-- hist_params - HISTORY's numbers, or nil when history is off
local function hist_params(text)
  local f, k, r, l, kp = string.match(text or '',
                                      '^(%d+) (%d+) (%d+) (%d+) (%d+)$')
  if not f then
    return nil
  end
  return {floor = tonumber(f), factor = tonumber(k), ramp = tonumber(r),
          learn = tonumber(l), keep = tonumber(kp)}
end

-- hist_read - a profile's text as a table; a fresh one if absent or not
-- readable
local function hist_read(text, today)
  local nums, nets = {}, {}
  for w in string.gmatch(text or '', '%S+') do
    local key, mark, v = string.match(w, '^(%x+)([.!-])(%w+)$')
    if key then
      nets[#nets + 1] = {key = key, mark = mark, v = tonumber(v, 36)}
    else
      nums[#nums + 1] = tonumber(w, 36) or -1
    end
  end
  local p = {s = nums[1], t = nums[2] or 0, u = nums[3] or 0,
             d = nums[4] or 0, n = nums[5] or 0, nets = {}}
  if p.s == nil or min(p.s, p.t, p.u, p.d, p.n) < 0 or #nums > 5 then
    return {u = 0, s = today, d = today, t = 0, n = 0, nets = {}}
  end
  -- Days and hours are stored from day S: short numbers.
  p.d = p.s + p.d
  for _, e in ipairs(nets) do
    if e.v then
      e.v = e.v + (e.mark == '.' and p.s or p.s * 24)
      p.nets[#p.nets + 1] = e
    end
  end
  return p
end

-- hist_text - a profile as its text: "S T U D N", trailing zeros left
-- out, then the networks
local function hist_text(p)
  local out = {b36(p.s), b36(p.t), b36(p.u), b36(p.d - p.s), b36(p.n)}
  while #out > 1 and out[#out] == '0' do
    out[#out] = nil
  end
  for _, e in ipairs(p.nets) do
    out[#out + 1] = e.key .. e.mark ..
                    b36(e.v - (e.mark == '.' and p.s or p.s * 24))
  end
  return table.concat(out, ' ')
end

-- hist_roll - a new day: the last day's mail from known networks joins
-- the usual volume (what came from new ones may be a thief's). A day far
-- above the usual moves it no further than the room allowed, so one
-- surge does not open the next one's way.
local function hist_roll(p, today, params)
  if p.d >= today then
    return				-- same day, or a clock behind
  end
  local day = max(p.t - p.n, 0)
  if day > 0 then
    if p.u == 0 then
      -- The first day counts up to the floor: a one-off mailing on the
      -- day history starts must not make the usual.
      p.u = min(day, params.floor) * 10
    else
      local cap = (params.floor + params.factor * p.u / 10) * 10
      p.u = floor(p.u * (1 - HIST_ALPHA) + min(day * 10, cap) * HIST_ALPHA
                  + 0.5)
    end
  end
  p.d, p.t, p.n = today, 0, 0
end

-- hist_known - whether network e (or nil) counts as known now: known
-- already, or being learnt, seen again LEARN after it was first seen and
-- never refused
local function hist_known(e, params)
  if e == nil then
    return false
  end
  return e.mark == '.' or (e.mark == '-' and now - e.v * 3600 >= params.learn)
end

-- hist_find - the profile's entry of a network, or nil
local function hist_find(p, key)
  for _, e in ipairs(p.nets) do
    if e.key == key then
      return e
    end
  end
  return nil
end

-- hist_any - whether the account is judged: its profile knows a network
-- and is older than its first UTC day. Until then mail from anywhere is
-- its usual mail: a profile of a few hours has nothing to compare with,
-- and a network first used that day (the office after the phone) is still
-- being learnt. A network due to be known does not count: a light user's
-- second place is no evidence against the first.
local function hist_any(p, params)
  if floor(now / 86400) <= p.s then
    return false
  end
  for _, e in ipairs(p.nets) do
    if e.mark == '.' then
      return true
    end
  end
  return false
end

-- hist_room - the day's room from networks not known: limit, count
local function hist_room(p, params, today)
  local age = max(today - p.s, 0) * 86400
  local ramp = 0.5 + 0.5 * min(1, age / max(params.ramp, 1))
  return floor((params.floor + params.factor * p.u / 10) * ramp + 1e-9), p.n
end

-- history_begin - the room a message from network net has: recipients
-- (-1: not limited), the day's limit, the count so far, and seconds
-- until the room grows (the next UTC day). h is the counters hash.
local function history_begin(h, net, text)
  local params = hist_params(text)
  if params == nil or net == '' or h.p == nil then
    return -1, 0, 0, 0
  end
  local today = floor(now / 86400)
  local p = hist_read(h.p, today)
  if hist_known(hist_find(p, net), params) then
    return -1, 0, 0, 0
  end
  if not hist_any(p, params) then
    return -1, 0, 0, 0			-- nothing known to compare with
  end
  hist_roll(p, today, params)
  local limit, count = hist_room(p, params, today)
  return max(0, limit - count), limit, count,
         max(1, math.ceil((today + 1) * 86400 - now))
end

-- hist_add - a network seen for the first time, in the place of the
-- oldest one being learnt, else of the known one unused longest
local function hist_add(p, e)
  if #p.nets < HIST_NETS then
    p.nets[#p.nets + 1] = e
    return
  end
  local worst, wscore = 1, nil
  for i, x in ipairs(p.nets) do
    -- Being learnt: by first hour; known: far after, by last day.
    local score = x.mark == '.' and 1e9 + x.v or x.v
    if wscore == nil or score < wscore then
      worst, wscore = i, score
    end
  end
  p.nets[worst] = e
end

-- hist_forget - networks unused for KEEP seconds go
local function hist_forget(p, params)
  local kept = {}
  for _, e in ipairs(p.nets) do
    local last = e.mark == '.' and e.v * 86400 or e.v * 3600
    if now - last < params.keep then
      kept[#kept + 1] = e
    end
  end
  p.nets = kept
end

-- history_commit - a message of `accepted` recipients went out from net
-- ("!" in front: the room refused some of it); quarantined: the account
-- is. Puts the profile (field p) into the counters hash h loaded by
-- update, through its put, in the same write; returns how long the hash
-- is then kept (nil: nothing written).
local function history_commit(h, put, net, text, accepted, quarantined)
  local params = hist_params(text)
  local over = string.sub(net, 1, 1) == '!'
  if over then
    net = string.sub(net, 2)
  end
  if params == nil or not string.match(net, '^%x+$') then
    return
  end
  local today, hour = floor(now / 86400), floor(now / 3600)
  local p = hist_read(h.p, today)
  hist_roll(p, today, params)
  local e = hist_find(p, net)
  local known = hist_known(e, params)
  p.t = p.t + accepted
  if not known and hist_any(p, params) then
    p.n = p.n + accepted
  end
  if quarantined then
    -- No clean history: the ramp starts again, nothing more is learnt.
    -- It starts as of the day before, so that hist_any's first-day
    -- grace (for a profile with nothing to compare with) does not free
    -- an account that keeps its known networks for the rest of the day:
    -- a lift the same morning would have let a thief who kept the
    -- password write from anywhere until midnight.
    p.s = today - 1
    local kept = {}
    for _, x in ipairs(p.nets) do
      if x.mark == '.' then
        kept[#kept + 1] = x
      end
    end
    p.nets = kept
  elseif known then
    e.mark, e.v = '.', today
  elseif e then
    if over then
      e.mark = '!'
    end
  else
    hist_add(p, {key = net, mark = over and '!' or '-', v = hour})
  end
  hist_forget(p, params)
  put('p', hist_text(p), h.p)
  return params.keep
end

-- history_inspect - what the account's history says now, for support
-- (inspect): the time its clean history started (0: no profile, or
-- history off), its usual daily recipients, today's recipients and those
-- of them from networks not known, the day's room from such networks
-- (-1: the account is not judged), and its networks as "KEY STATE TIME"
-- words: known (TIME: the start of the day it was last used), learning
-- (TIME: when first seen; known if seen again from TIME + LEARN), due
-- (the same, seen again it is known), refused (the room refused some of
-- its mail: never learnt by itself).
local function history_inspect(h, text)
  local params = hist_params(text)
  if params == nil or h.p == nil then
    return 0, '0.0', 0, 0, -1, ''
  end
  local today = floor(now / 86400)
  local p = hist_read(h.p, today)
  hist_roll(p, today, params)
  local room = -1
  if hist_any(p, params) then
    room = hist_room(p, params, today)
  end
  local nets = {}
  for _, e in ipairs(p.nets) do
    local state, at = 'known', e.v * 86400
    if e.mark ~= '.' then
      at = e.v * 3600
      state = e.mark == '!' and 'refused'
              or (hist_known(e, params) and 'due' or 'learning')
    end
    nets[#nets + 1] = e.key .. ' ' .. state .. ' ' .. string.format('%d', at)
  end
  return p.s * 86400, string.format('%.1f', p.u / 10), p.t, p.n, room,
         table.concat(nets, ' ')
end

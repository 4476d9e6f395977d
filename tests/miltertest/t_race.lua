-- race.lua - many connections of one login at once never get more than
-- the limit through (issue 13, section 2): with messages = 2/1h and
-- recipients = 10/1h (tier race), ten interleaved connections (all
-- MAILs, then ten RCPTs on each, then all end-of-data) get at most 2
-- messages and 10 recipients accepted: first on one subguard, then
-- across two subguards sharing one Redis (SG_MILTER2). reserve_recipients
-- is 4 here, so the messages also take the "reserve" path.
-- nodes: 2
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")

-- race - ten connections of login spread over sockets, interleaved;
-- returns the messages and recipients accepted
local function race(login, sockets)
  t.redis("SET 'subguard:{" .. login .. "}:tier' race")
  local conns, open = {}, {}
  for i = 1, 10 do
    conns[i] = t.connect(sockets[(i - 1) % #sockets + 1])
  end
  -- All MAILs first (subguard answers none: it decides a message at
  -- its first recipient), then every first recipient: each message is
  -- in flight before any has ended.
  for i = 1, 10 do
    t.mail(conns[i], login, login .. "Q" .. i, SMFIR_CONTINUE, "MAIL " .. i)
  end
  -- Then ten recipients on each, round robin; a message whose recipients
  -- are all refused gets no DATA, as an MTA would do.
  local rcpts = 0
  for j = 1, 10 do
    for i = 1, 10 do
      local c = conns[i]
      mt.macro(c, SMFIC_RCPT, "{rcpt_mailer}", "smtp", "{rcpt_host}", "mx.example")
      assert(mt.rcptto(c, "<r" .. i .. "-" .. j .. "@remote.example>") == nil)
      local r = mt.getreply(c)
      assert(r == SMFIR_CONTINUE or r == SMFIR_REPLYCODE or r == SMFIR_TEMPFAIL,
             "RCPT " .. i .. "-" .. j .. ": reply " .. tostring(r))
      if r == SMFIR_CONTINUE then
        rcpts = rcpts + 1
        open[i] = true
      end
    end
  end
  -- Then every end of data.
  local msgs = 0
  for i = 1, 10 do
    if open[i] then
      assert(mt.eom(conns[i]) == nil)
      if mt.getreply(conns[i]) == SMFIR_CONTINUE then
        msgs = msgs + 1
      end
    end
  end
  for i = 1, 10 do
    mt.disconnect(conns[i])
  end
  return msgs, rcpts
end

local function main()
  local one = {os.getenv("SG_MILTER")}
  local two = {os.getenv("SG_MILTER"), os.getenv("SG_MILTER2")}
  assert(two[2], "SG_MILTER2 not set: run.sh starts a second node")

  local m, r = race("racer1@example.net", one)
  assert(m <= 2, "one node: " .. m .. " messages accepted, limit 2")
  assert(r <= 10, "one node: " .. r .. " recipients accepted, limit 10")
  -- And the limit is reached, not refused outright.
  assert(m == 2 and r == 10, "one node: " .. m .. " messages, " .. r .. " recipients")
  assert(t.settled("HGET 'subguard:{racer1@example.net}:counters' rcpts", "10") == "10",
         "racer1 rcpts counted")
  assert(t.redis("HGET 'subguard:{racer1@example.net}:counters' msgs") == "2")
  assert(t.settled("HLEN 'subguard:{racer1@example.net}:resv'", "0") == "0",
         "racer1 reservations settled")

  m, r = race("racer2@example.net", two)
  assert(m <= 2, "two nodes: " .. m .. " messages accepted, limit 2")
  assert(r <= 10, "two nodes: " .. r .. " recipients accepted, limit 10")
  assert(m == 2 and r == 10, "two nodes: " .. m .. " messages, " .. r .. " recipients")
  assert(t.settled("HGET 'subguard:{racer2@example.net}:counters' rcpts", "10") == "10",
         "racer2 rcpts counted")
  assert(t.redis("HGET 'subguard:{racer2@example.net}:counters' msgs") == "2")
  assert(t.settled("HLEN 'subguard:{racer2@example.net}:resv'", "0") == "0",
         "racer2 reservations settled")
end
local ok, err = pcall(main)
if not ok then
  io.stderr:write("FAIL: " .. tostring(err) .. "\n")
  os.exit(1)
end

-- inflight_quarantine.lua - messages already in flight when their
-- account is quarantined are not accepted at end of data on a node that
-- has learned of the quarantine (issue 13, section 2). Three connections
-- of one login begin while it is in good standing; then it is
-- quarantined (here by hand, as support or the feed on another node
-- would). The first clean message's commit is deferred (sent after its
-- reply) and learns of the quarantine; the next message on this node is
-- therefore committed at once and held, not accepted.
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")

local function main()
  local login = "inflight@example.net"
  local conns = {}
  t.redis("SET 'subguard:{" .. login .. "}:tier' roomy")
  for i = 1, 3 do
    conns[i] = t.connect()
    t.mail(conns[i], login, "IF" .. i, SMFIR_CONTINUE, "MAIL " .. i)
    t.rcpt(conns[i], "r" .. i .. "@remote.example", false, SMFIR_CONTINUE, "RCPT " .. i)
  end
  t.redis("HSET 'subguard:{" .. login .. "}:quarantine' reason manual by support")

  -- The first: nothing on this node knew yet, its commit is deferred.
  assert(mt.eom(conns[1]) == nil)
  assert(mt.getreply(conns[1]) == SMFIR_CONTINUE, "eom 1")
  assert(not mt.eom_check(conns[1], MT_QUARANTINE), "message 1 held: its commit was not deferred")
  -- Its deferred commit has run (message counted) and said "quarantined".
  assert(t.settled("HGET 'subguard:{" .. login .. "}:counters' msgs", "1") == "1",
         "message 1 counted")

  -- The others, already in flight, are held at end of data.
  for i = 2, 3 do
    assert(mt.eom(conns[i]) == nil)
    assert(mt.getreply(conns[i]) == SMFIR_CONTINUE, "eom " .. i)
    assert(mt.eom_check(conns[i], MT_QUARANTINE), "message " .. i .. " accepted though quarantined")
  end
  assert(t.redis("LRANGE 'subguard:{" .. login .. "}:held' 0 -1") == "IF2\nIF3",
         "held list: " .. t.redis("LRANGE 'subguard:{" .. login .. "}:held' 0 -1"))

  -- Lifted: the next begin clears what the node learned.
  t.redis("DEL 'subguard:{" .. login .. "}:quarantine'")
  local c = conns[1]
  t.mail(c, login, "IF4", SMFIR_CONTINUE, "MAIL after the lift")
  t.rcpt(c, "r4@remote.example", false, SMFIR_CONTINUE, "RCPT after the lift")
  assert(mt.eom(c) == nil)
  assert(mt.getreply(c) == SMFIR_CONTINUE, "eom after the lift")
  assert(not mt.eom_check(c, MT_QUARANTINE), "held after the lift")
  for i = 1, 3 do
    mt.disconnect(conns[i])
  end
end
local ok, err = pcall(main)
if not ok then
  io.stderr:write("FAIL: " .. tostring(err) .. "\n")
  os.exit(1)
end

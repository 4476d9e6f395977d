-- client_addr.lua - the client's address as each MTA writes it in
-- {client_addr}: Postfix plainly ("2001:db8:77:1::5", "192.0.2.7"),
-- Sendmail with "IPv6:" in front; an IPv4-mapped address counts as its
-- IPv4 address. The account's history learns the /48 or the /24 (the
-- network key of lib/sg_net.h). What is no address (junk, a line break
-- a client might smuggle in, nothing at all) gives no network: the
-- message is counted as any other, nothing is learnt, nothing refused.
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")
local conn = t.connect()

-- send - one message of one recipient from login at addr (nil: no macro)
local function send(login, qid, addr)
  if addr then
    mt.macro(conn, SMFIC_MAIL, "{auth_authen}", login, "{auth_type}",
             "PLAIN", "i", qid, "{client_addr}", addr)
  else
    mt.macro(conn, SMFIC_MAIL, "{auth_authen}", login, "{auth_type}",
             "PLAIN", "i", qid)
  end
  assert(mt.mailfrom(conn, "<sender@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, login .. ": MAIL answered")
  t.rcpt(conn, "friend@remote.example", false, SMFIR_CONTINUE, login)
  assert(mt.eom(conn) == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, login .. ": end of message")
end

-- counters - a field of login's counters hash
local function counters(login, field)
  return t.redis("HGET 'subguard:{" .. login .. "}:counters' " .. field)
end

-- learnt - login's profile once its commit is in, checked to hold the
-- network key being learnt
local function learnt(login, key)
  assert(t.settled("HGET 'subguard:{" .. login .. "}:counters' rcpts", "1")
         == "1", login .. ": message not counted")
  local p = counters(login, "p")
  assert(string.find(p, " " .. key .. "-", 1, true),
         login .. ": profile '" .. p .. "' does not learn " .. key)
end

send("pf6@example.net", "QA1", "2001:db8:77:1::5")
learnt("pf6@example.net", "20010db80077")
send("sm6@example.net", "QA2", "IPv6:2001:db8:77:1::5")
learnt("sm6@example.net", "20010db80077")
send("map@example.net", "QA3", "::ffff:192.0.2.9")
learnt("map@example.net", "c00002")
send("v4@example.net", "QA4", "192.0.2.7")
learnt("v4@example.net", "c00002")

for i, addr in ipairs({"198.51.100.1\r\nX-Injected: 1", "unknown",
                       "[IPv6:2001:db8::1]", "2001:db8::1%eth0", ""}) do
  local login = "odd" .. i .. "@example.net"
  send(login, "QB" .. i, addr)
  assert(t.settled("HGET 'subguard:{" .. login .. "}:counters' rcpts", "1")
         == "1", login .. ": message not counted")
  assert(counters(login, "p") == "", login .. ": a profile from '" .. addr
         .. "': " .. counters(login, "p"))
end
-- The log names such a client "unknown": the smuggled line stays out.
local log
for _ = 1, 500 do
  local f = assert(io.open(os.getenv("SG_REDIS_DIR") .. "/subguard.log"))
  log = f:read("*a")
  f:close()
  if string.find(log, "login=odd1@example.net client=unknown qid=QB1 ",
                 1, true) then
    break
  end
  os.execute("sleep 0.01")
end
assert(string.find(log, "login=odd1@example.net client=unknown qid=QB1 ",
                   1, true), "no log line for odd1 with client=unknown")
assert(not string.find(log, "X-Injected", 1, true), "the smuggled line logged")
send("none@example.net", "QC1", nil)
assert(t.settled("HGET 'subguard:{none@example.net}:counters' rcpts", "1")
       == "1", "no {client_addr}: message not counted")
assert(mt.disconnect(conn) == nil)

-- limits.lua - unauthenticated mail passes untouched; the recipient over
-- the limit is tempfailed alone; the message limit refuses the message at
-- its first RCPT (subguard answers nothing at MAIL).
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")
local conn = t.connect()

-- No login: subguard steps aside for the whole message.
t.mail(conn, nil, "Q0", SMFIR_ACCEPT, "unauthenticated")
assert(t.redis("KEYS 'subguard:*'") == "", "unauthenticated mail left keys")

-- Login alice, limit 2 recipients an hour: the third gets 451 4.7.1.
t.mail(conn, "Alice@Example.NET", "Q1", SMFIR_CONTINUE, "first message")
t.rcpt(conn, "a@remote.example", false, SMFIR_CONTINUE, "rcpt 1")
t.rcpt(conn, "b@remote.example", false, SMFIR_CONTINUE, "rcpt 2")
t.rcpt(conn, "c@remote.example", false, SMFIR_REPLYCODE, "rcpt 3")
assert(mt.eom(conn) == nil)
assert(mt.getreply(conn) == SMFIR_CONTINUE, "eom not accepted")
assert(t.settled("HGET 'subguard:{alice@example.net}:counters' rcpts", "2") == "2")
assert(t.redis("HGET 'subguard:{alice@example.net}:counters' refused") == "1")
assert(t.redis("GET subguard:qid:Q1"):match("^alice@example.net %d+ 2$"))

-- bob may send 2 messages an hour: the third is refused at its first RCPT.
for i = 1, 2 do
  t.mail(conn, "bob@example.net", "QB" .. i, SMFIR_CONTINUE, "bob " .. i)
  t.rcpt(conn, "x@remote.example", false, SMFIR_CONTINUE, "bob's rcpt")
  assert(mt.eom(conn) == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "bob's eom")
end
t.mail(conn, "bob@example.net", "QB3", SMFIR_REPLYCODE, "bob over the message limit")
assert(t.redis("HGET 'subguard:{bob@example.net}:counters' msgs") == "2")
assert(t.redis("HGET 'subguard:{bob@example.net}:counters' refused") == "1")
mt.disconnect(conn)

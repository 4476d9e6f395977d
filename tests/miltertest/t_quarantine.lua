-- quarantine.lua - recipients the MTA rejected quarantine the login, its
-- mail is held (smfi_quarantine), and lifting with redis-cli DEL works.
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")
local conn = t.connect()
local key = "'subguard:{mallory@example.net}:quarantine'"

-- Four unknown recipients, over quarantine_rejected = 3/1h.
t.mail(conn, "mallory@example.net", "QM1", SMFIR_CONTINUE, "spray")
for i = 1, 4 do
  t.rcpt(conn, "nouser" .. i .. "@isp.example", true, SMFIR_CONTINUE, "rejected")
end
t.rcpt(conn, "victim@remote.example", false, SMFIR_CONTINUE, "accepted")
assert(mt.eom(conn) == nil)
assert(mt.eom_check(conn, MT_QUARANTINE), "message not quarantined")
assert(t.redis("HGET " .. key .. " by") == "subguard")
-- Either net may fire first: the failure test or quarantine_rejected.
local reason = t.redis("HGET " .. key .. " reason")
assert(reason:find("failed") or reason:find("rejected by the MTA"), reason)
assert(t.redis("LRANGE 'subguard:{mallory@example.net}:held' 0 -1") == "QM1")

-- Support lifts it: the next message is accepted, not held.
t.redis("DEL " .. key)
t.mail(conn, "mallory@example.net", "QM2", SMFIR_CONTINUE, "after lift")
t.rcpt(conn, "friend@remote.example", false, SMFIR_CONTINUE, "accepted")
assert(mt.eom(conn) == nil)
assert(not mt.eom_check(conn, MT_QUARANTINE), "held after the lift")
assert(mt.getreply(conn) == SMFIR_CONTINUE)
mt.disconnect(conn)

-- rcpt_causes.lua - the MTA's refusals at RCPT count by their status in
-- {rcpt_host}: a permanent one (5.1.1) is a failure, a temporary one
-- (4.5.3 too many recipients, 4.1.1 verification pending) is nothing:
-- neither a failure against the sender nor a recipient in his favour.
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")
local conn = t.connect()
local cnt = "'subguard:{carol@example.net}:counters'"

-- rcpt_status - RCPT TO that the MTA refused with status
local function rcpt_status(addr, status)
  mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error", "{rcpt_host}", status)
  assert(mt.rcptto(conn, "<" .. addr .. ">") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "RCPT reply for " .. addr)
end

t.mail(conn, "carol@example.net", "QC1", SMFIR_CONTINUE, "carol")
rcpt_status("many1@remote.example", "4.5.3")
rcpt_status("many2@remote.example", "4.5.3")
rcpt_status("later@isp.example", "4.1.1")
rcpt_status("gone@isp.example", "5.1.1")
t.rcpt(conn, "ok@remote.example", false, SMFIR_CONTINUE, "a good one")
assert(mt.eom(conn) == nil)
assert(mt.getreply(conn) == SMFIR_CONTINUE, "eom not accepted")
assert(t.settled("HGET " .. cnt .. " rcpts", "1") == "1")
local rej = t.redis("HGET " .. cnt .. " rejected")
assert(rej == "1", "rejected: " .. rej .. ", want 1 (the 5.1.1 alone)")
-- Three more permanent refusals: quarantine_rejected = 3/1h is crossed,
-- which four temporary ones would never do.
t.mail(conn, "carol@example.net", "QC2", SMFIR_CONTINUE, "carol again")
for i = 1, 4 do
  rcpt_status("busy" .. i .. "@isp.example", "4.2.1")
end
for i = 1, 3 do
  rcpt_status("dead" .. i .. "@isp.example", "5.1.1")
end
t.rcpt(conn, "ok2@remote.example", false, SMFIR_CONTINUE, "a good one")
assert(mt.eom(conn) == nil)
assert(mt.eom_check(conn, MT_QUARANTINE), "not quarantined after 4 failures")
local rej2 = t.settled("HGET " .. cnt .. " rejected", "4")
assert(rej2 == "4", "rejected: " .. rej2 .. ", want 4")
assert(mt.disconnect(conn) == nil)

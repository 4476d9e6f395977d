-- metrics.lua - subguard's /metrics move by exactly what the mail did.
-- Run by tests/integration/t_metrics.sh (SG_METRICS is the scrape URL).
-- Each step scrapes before and after and checks the change of every
-- series it names, and that nothing else of the decisions moved.
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")
local url = os.getenv("SG_METRICS")

-- scrape - every sample of /metrics: series text -> number
local function scrape()
  local p = io.popen("curl -sf " .. url)
  local text = p:read("*a")
  p:close()
  assert(text:find("# TYPE subguard_decisions_total counter", 1, true), "no metrics from " .. url)
  local m = {}
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, 1) ~= "#" then
      local series, value = line:match("^(%S+) (%S+)$")
      assert(series, "bad sample line: " .. line)
      m[series] = tonumber(value)
    end
  end
  return m
end

local function d(action, stage)
  return 'subguard_decisions_total{action="' .. action .. '",stage="' .. stage .. '"}'
end

-- moved - after minus before for each series in want, exactly; every
-- other decisions series unchanged
local function moved(before, after, want, what)
  for series, n in pairs(want) do
    local got = (after[series] or -1) - (before[series] or 0)
    assert(got == n, what .. ": " .. series .. " moved by " .. got .. ", want " .. n)
  end
  for series, v in pairs(after) do
    if series:find("^subguard_decisions_total") and want[series] == nil then
      assert(v == before[series], what .. ": " .. series .. " moved unexpectedly")
    end
  end
end

-- settled_scrape - a scrape once the commit queue is empty
local function settled_scrape()
  local m
  for _ = 1, 500 do
    m = scrape()
    if m["subguard_commit_queue_depth"] == 0 then
      return m
    end
    os.execute("sleep 0.01")
  end
  error("commit queue never emptied")
end

local conn = t.connect()
local s0 = settled_scrape()
assert(s0["subguard_redis_outage"] == 0, "outage at start")

-- 1. One clean message: accept at eom; two Redis round trips (begin, and
-- the commit queued after the reply); the histogram saw both.
t.mail(conn, "alice@example.net", "QA1", SMFIR_CONTINUE, "alice")
t.rcpt(conn, "a@remote.example", false, SMFIR_CONTINUE, "alice rcpt")
assert(mt.eom(conn) == nil)
assert(mt.getreply(conn) == SMFIR_CONTINUE)
assert(t.settled("HGET 'subguard:{alice@example.net}:counters' msgs", "1") == "1")
local s1 = settled_scrape()
moved(s0, s1, {[d("accept", "eom")] = 1,
               ['subguard_redis_calls_total{result="ok"}'] = 2,
               ['subguard_redis_calls_total{result="down"}'] = 0,
               ["subguard_redis_roundtrip_seconds_count"] = 2}, "clean message")
assert(s1["subguard_redis_roundtrip_seconds_sum"] > s0["subguard_redis_roundtrip_seconds_sum"],
       "round-trip seconds did not grow")
assert(s1['subguard_redis_roundtrip_seconds_bucket{le="+Inf"}'] == s1["subguard_redis_roundtrip_seconds_count"])

-- 2. Over the recipient limit (2/1h): one tempfail line at rcpt for the
-- message (not one per recipient), and the message accepted at eom.
t.mail(conn, "bob@example.net", "QB1", SMFIR_CONTINUE, "bob")
t.rcpt(conn, "a@remote.example", false, SMFIR_CONTINUE, "bob rcpt 1")
t.rcpt(conn, "b@remote.example", false, SMFIR_CONTINUE, "bob rcpt 2")
t.rcpt(conn, "c@remote.example", false, SMFIR_REPLYCODE, "bob rcpt 3")
t.rcpt(conn, "d@remote.example", false, SMFIR_REPLYCODE, "bob rcpt 4")
assert(mt.eom(conn) == nil)
assert(mt.getreply(conn) == SMFIR_CONTINUE)
local s2 = settled_scrape()
moved(s1, s2, {[d("tempfail", "rcpt")] = 1, [d("accept", "eom")] = 1}, "recipient limit")

-- 3. Over the message limit (2/1h): refused at MAIL.
for i = 1, 2 do
  t.mail(conn, "carol@example.net", "QC" .. i, SMFIR_CONTINUE, "carol " .. i)
  t.rcpt(conn, "x@remote.example", false, SMFIR_CONTINUE, "carol rcpt")
  assert(mt.eom(conn) == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE)
end
t.mail(conn, "carol@example.net", "QC3", SMFIR_REPLYCODE, "carol over")
local s3 = settled_scrape()
moved(s2, s3, {[d("accept", "eom")] = 2, [d("tempfail", "mail")] = 1}, "message limit")

-- 4. A quarantine (4 recipients rejected by the MTA, 3/1h): the
-- quarantine line and the hold; then a lift with redis-cli DEL, seen by
-- the next message.
t.mail(conn, "mallory@example.net", "QM1", SMFIR_CONTINUE, "spray")
for i = 1, 4 do
  t.rcpt(conn, "nouser" .. i .. "@isp.example", true, SMFIR_CONTINUE, "rejected")
end
t.rcpt(conn, "victim@remote.example", false, SMFIR_CONTINUE, "accepted")
assert(mt.eom(conn) == nil)
assert(mt.eom_check(conn, MT_QUARANTINE), "message not held")
local s4 = settled_scrape()
moved(s3, s4, {[d("quarantine", "eom")] = 1, [d("hold", "eom")] = 1,
               ['subguard_quarantines_total{source="submission"}'] = 1}, "quarantine")
t.redis("DEL 'subguard:{mallory@example.net}:quarantine'")
t.mail(conn, "mallory@example.net", "QM2", SMFIR_CONTINUE, "after lift")
t.rcpt(conn, "friend@remote.example", false, SMFIR_CONTINUE, "accepted")
assert(mt.eom(conn) == nil)
assert(mt.getreply(conn) == SMFIR_CONTINUE)
local s5 = settled_scrape()
assert(s5["subguard_lifts_total"] - s4["subguard_lifts_total"] == 1, "lift not counted")
assert(s5[d("lift", "eom")] + s5[d("lift", "commit")]
       - s4[d("lift", "eom")] - s4[d("lift", "commit")] == 1, "lift line not counted")

-- 5. Past reserve_recipients (4): one extra reservation per doubling.
t.redis("SET 'subguard:{erin@example.net}:tier' roomy")
t.mail(conn, "erin@example.net", "QE1", SMFIR_CONTINUE, "erin")
for i = 1, 6 do
  t.rcpt(conn, "r" .. i .. "@remote.example", false, SMFIR_CONTINUE, "erin rcpt")
end
assert(mt.eom(conn) == nil)
assert(mt.getreply(conn) == SMFIR_CONTINUE)
local s6 = settled_scrape()
moved(s5, s6, {['subguard_reservations_total{result="ok"}'] = 1,
               [d("accept", "eom")] = 1}, "reservation")
mt.disconnect(conn)

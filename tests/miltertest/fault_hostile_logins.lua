-- fault_hostile_logins.lua - logins no MTA should send, straight through the
-- milter protocol ({auth_authen} set with mt.macro), against a running
-- subguard (quarantine_action = hold). Run by tests/fault/t_60_logins.sh,
-- which checks the key space and the log afterwards.
--
-- Each hostile login sends one message; then:
--  - the victim "victim" (2 messages) still has exactly its counters
--    (msgs 2), no quarantine, no held list, no tier;
--  - each hostile login has its own counters key under the escaped name
--    README.md documents (letters, digits, @._-+= kept, every other byte
--    %XX, lower case);
--  - quarantining "victim}:quarantine" holds its mail and not the
--    victim's; quarantining the victim holds the victim's and not the
--    look-alikes';
--  - an empty login is not counted (SMFIR_ACCEPT at MAIL, no key);
--  - a NUL cuts the login (the milter protocol carries C strings):
--    "nul\0victim" is counted as "nul", never as anything with "victim".
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")

-- miltertest prints nothing when a script fails: say why, then exit 1.
local function main()
  local conn = t.connect()
  local n = 0

  local function show(s)
    return (s:gsub("[^%w@._+=-]", function(c) return string.format("\\x%02X", c:byte()) end))
  end

  local function key(login, suffix)
    return "'subguard:{" .. login .. "}:" .. suffix .. "'"
  end

  -- send LOGIN - one message, one recipient; returns whether it was held
  local function send(login)
    n = n + 1
    local qid = "HL" .. n
    t.mail(conn, login, qid, SMFIR_CONTINUE, "MAIL as " .. show(login))
    t.rcpt(conn, "r" .. n .. "@remote.example", false, SMFIR_CONTINUE, "RCPT as " .. show(login))
    assert(mt.eom(conn) == nil, "eom as " .. show(login))
    assert(mt.getreply(conn) == SMFIR_CONTINUE, "eom reply as " .. show(login))
    return mt.eom_check(conn, MT_QUARANTINE)
  end

  -- The victim first.
  assert(not send("victim"))
  assert(not send("victim"))
  assert(t.settled("HGET " .. key("victim", "counters") .. " msgs", "2") == "2", "victim msgs")
  local victim_before = t.redis("HGETALL " .. key("victim", "counters"))

  -- Hostile logins and the key name each must get.
  local hostile = {
    {"victim}:quarantine", "victim%7D%3Aquarantine"},
    {"{victim}", "%7Bvictim%7D"},
    {"victim}", "victim%7D"},
    {"victim:counters", "victim%3Acounters"},
    {"victim\r\n", "victim%0D%0A"},
    {"vic\ntim", "vic%0Atim"},
    {"vic\rtim", "vic%0Dtim"},
    {"sp ace", "sp%20ace"},
    {"quo\"te'x", "quo%22te%27x"},
    {"back\\slash", "back%5Cslash"},
    {"\xff\xfe\xc0\xaf", "%FF%FE%C0%AF"},
    {"caf\xc3\xa9", "caf%C3%A9"},
    {"a{b", "a%7Bb"},
    {"a%7Bb", "a%257bb"},  -- lower-cased first, then escaped
    {"victim*", "victim%2A"},
    {"victim?", "victim%3F"},
    {"pre\tfix", "pre%09fix"},
    {"nul\0victim", "nul"},
  }
  for _, h in ipairs(hostile) do
    assert(not send(h[1]), "held: " .. show(h[1]))
    local got = t.settled("HGET " .. key(h[2], "counters") .. " msgs", "1")
    assert(got == "1", show(h[1]) .. ": counters under " .. h[2] .. " say msgs=" .. got)
  end

  -- An empty login: stepped aside, nothing counted.
  t.mail(conn, "", "HLE", SMFIR_ACCEPT, "MAIL with an empty login")
  assert(t.redis("EXISTS 'subguard:{}:counters'") == "0", "empty login counted")

  -- The victim was not touched by any of them.
  assert(t.redis("HGETALL " .. key("victim", "counters")) == victim_before,
         "victim's counters changed")
  for _, s in ipairs({"quarantine", "held", "tier"}) do
    assert(t.redis("EXISTS " .. key("victim", s)) == "0", "victim has a " .. s .. " key")
  end

  -- Quarantine the look-alike: its mail is held, the victim's is not.
  t.redis("HSET " .. key("victim%7D%3Aquarantine", "quarantine") .. " reason test by fault")
  assert(send("victim}:quarantine"), "quarantined look-alike not held")
  assert(not send("victim"), "victim held for the look-alike's quarantine")
  assert(t.redis("LLEN " .. key("victim%7D%3Aquarantine", "held")) == "1", "look-alike held list")
  assert(t.redis("EXISTS " .. key("victim", "held")) == "0", "victim has a held list")
  assert(t.redis("EXISTS " .. key("victim", "quarantine")) == "0", "victim quarantined")
  t.redis("DEL " .. key("victim%7D%3Aquarantine", "quarantine"))

  -- Quarantine the victim: only the victim's mail is held.
  t.redis("HSET " .. key("victim", "quarantine") .. " reason test by fault")
  assert(send("victim"), "quarantined victim not held")
  for _, h in ipairs(hostile) do
    assert(not send(h[1]), "look-alike " .. show(h[1]) .. " held for the victim's quarantine")
  end
  t.redis("DEL " .. key("victim", "quarantine"))
  mt.disconnect(conn)
end
local ok, err = pcall(main)
if not ok then
  io.stderr:write("FAIL: " .. tostring(err) .. "\n")
  os.exit(1)
end

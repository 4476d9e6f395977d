-- fault_many_rcpts.lua - ten thousand recipients in one message, twice: once
-- under a limit far away (all accepted), once under "recipients = 100/1h"
-- (tier small: 100 accepted, 9900 tempfailed in memory). Per message, two
-- Redis calls (begin, commit) and the "reserve" calls of a message past
-- its first reserve_recipients (20): each asks for as many again as the
-- message holds, so about log2(N / 20), not one per recipient: counted
-- with INFO commandstats (the FCALL calls). Run by
-- tests/fault/t_61_rcpts.sh.
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")

-- miltertest prints nothing when a script fails: say why, then exit 1.
local function main()
  local conn = t.connect()
  local N = 10000

  -- calls - round trips to Redis so far: the commands subguard sends itself
-- (FCALL, and FUNCTION LOAD should the library be missing). The
-- commands scripts run inside Redis are in commandstats too, so a total
-- would count those.
local function calls()
  local n = 0
  for name, c in t.redis("INFO commandstats"):gmatch("cmdstat_([^:]+):calls=(%d+)") do
    if name == "fcall" or name == "function|load" then
      n = n + tonumber(c)
    end
  end
  return n
end

-- reserves - the reserve calls of a message of n recipients under a
-- limit (room) when begin reserves chunk and each call asks for as many
-- again as the message holds, stopping at the first short grant
local function reserves(n, room, chunk)
  local held, calls = math.min(room, chunk), 0
  if held < chunk then
    return 0
  end
  while held < n do
    local ask = math.max(held, chunk)
    local got = math.min(ask, room - held)
    calls = calls + 1
    held = held + got
    if got < ask then
      break
    end
  end
  return calls
end

local function message(login, qid, want_ok)
    t.mail(conn, login, qid, SMFIR_CONTINUE, "MAIL " .. qid)
    local ok, refused = 0, 0
    for i = 1, N do
      mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp", "{rcpt_host}", "mx.example")
      assert(mt.rcptto(conn, "<r" .. i .. "@remote.example>") == nil)
      local r = mt.getreply(conn)
      if r == SMFIR_CONTINUE then ok = ok + 1
      elseif r == SMFIR_REPLYCODE then refused = refused + 1
      else error("RCPT " .. i .. " of " .. qid .. ": reply " .. tostring(r)) end
    end
    assert(mt.eom(conn) == nil)
    assert(mt.getreply(conn) == SMFIR_CONTINUE, "eom " .. qid)
    assert(ok == want_ok, qid .. ": " .. ok .. " recipients accepted, want " .. want_ok)
    return ok, refused
  end

  -- Warm-up: the script loaded, the pool connected.
  t.mail(conn, "warm@example.net", "W1", SMFIR_CONTINUE, "warm-up")
  t.rcpt(conn, "w@remote.example", false, SMFIR_CONTINUE, "warm-up rcpt")
  assert(mt.eom(conn) == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE)

  local c0 = calls()
  local t0 = os.time()
  message("many@example.net", "MANY1", N)
  assert(t.settled("HGET 'subguard:{many@example.net}:counters' msgs", "1") == "1", "msgs counted")
  local c1 = calls()
  local want1 = 2 + reserves(N, 100000, 20)
  assert(want1 < 2 + 15, "the reserve calls grow with log N")
  assert(c1 - c0 == want1, "Redis commands for a 10000-recipient message: " .. (c1 - c0) .. ", want " .. want1)
  assert(t.redis("HGET 'subguard:{many@example.net}:counters' rcpts") == tostring(N), "rcpts counted")

  t.redis("SET 'subguard:{few@example.net}:tier' small")
  local _, refused = message("few@example.net", "FEW1", 100)
  local c2 = calls()
  local want2 = 2 + reserves(N, 100, 20)
  assert(c2 - c1 == want2, "Redis commands for a 10000-recipient message over its limit: " .. (c2 - c1) .. ", want " .. want2)
  assert(refused == N - 100, "refused " .. refused)
  assert(t.redis("HGET 'subguard:{few@example.net}:counters' rcpts") == "100", "few rcpts")
  assert(t.redis("HGET 'subguard:{few@example.net}:counters' refused") == tostring(N - 100), "few refused")
  print(string.format("many_rcpts: 2 x %d recipients in %d s; Redis commands %d and %d",
                      N, os.time() - t0, c1 - c0, c2 - c1))
  mt.disconnect(conn)
end
local ok, err = pcall(main)
if not ok then
  io.stderr:write("FAIL: " .. tostring(err) .. "\n")
  os.exit(1)
end

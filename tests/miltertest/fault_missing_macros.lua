-- fault_missing_macros.lua - macros an MTA may leave out, and transactions left
-- half done, against a running subguard. Run by tests/fault/t_63_macros.sh.
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")

-- miltertest prints nothing when a script fails: say why, then exit 1.
local function main()
  local conn = t.connect()
  local function keys(pattern) return t.redis("--scan --pattern '" .. pattern .. "'") end
  -- cnt - a counter once it says want (commits land after the reply)
  local function cnt(login, f, want)
    return t.settled("HGET 'subguard:{" .. login .. "}:counters' " .. f, want)
  end
  local function rcpt(addr)
    t.rcpt(conn, addr, false, SMFIR_CONTINUE, "RCPT " .. addr)
  end
  local function eom(what)
    assert(mt.eom(conn) == nil, "eom " .. what)
    assert(mt.getreply(conn) == SMFIR_CONTINUE, "eom reply " .. what)
  end

  -- 1. No {auth_authen} at all: subguard steps aside, nothing counted.
  --    (The message's answer comes at its first RCPT: MAIL gets none.)
  assert(mt.macro(conn, SMFIC_MAIL, "i", "NOAUTH1") == nil)
  assert(mt.mailfrom(conn, "<anon@example.net>") == nil)
  t.rcpt(conn, "anon-rcpt@remote.example", false, SMFIR_ACCEPT, "no {auth_authen}")
  assert(keys("subguard:*") == "", "no {auth_authen}: keys written")

  -- 2. {auth_authen} but no {i}, neither at MAIL nor at the end: counted,
  --    no queue-id key (not even "subguard:qid:").
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "noqid@example.net") == nil)
  assert(mt.mailfrom(conn, "<noqid@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "no {i}: MAIL")
  rcpt("a@remote.example")
  eom("no {i}")
  assert(cnt("noqid@example.net", "msgs", "1") == "1", "no {i}: not counted")
  assert(keys("subguard:qid:*") == "", "no {i}: a queue-id key was written")

  -- 3. ({i} only at the end of the message: miltertest cannot send
  --    end-of-message macros; t_63_macros.sh does it with milter.py.)

  -- 4. No {rcpt_mailer}/{rcpt_host} at RCPT: an accepted recipient.
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "normacro@example.net", "i", "NR1") == nil)
  assert(mt.mailfrom(conn, "<normacro@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE)
  assert(mt.rcptto(conn, "<c@remote.example>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "RCPT without macros")
  eom("RCPT without macros")
  assert(cnt("normacro@example.net", "rcpts", "1") == "1", "RCPT without macros: rcpts")
  assert(cnt("normacro@example.net", "rejected", "") == "", "RCPT without macros: rejected (zero: not stored)")

  -- 5. {auth_authen} only at RCPT, not at MAIL: the message is decided
  --    at its first RCPT, where the login is read: counted.
  assert(mt.macro(conn, SMFIC_MAIL, "i", "LATE1") == nil)
  assert(mt.mailfrom(conn, "<late@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "login only at RCPT: MAIL")
  assert(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp", "{rcpt_host}", "mx.example",
                  "{auth_authen}", "late@example.net") == nil)
  assert(mt.rcptto(conn, "<late-rcpt@remote.example>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "login only at RCPT: RCPT")
  eom("login only at RCPT")
  assert(cnt("late@example.net", "msgs", "1") == "1", "login only at RCPT: msgs")

  -- 6. Aborted after RCPT (RSET, or the client gone): no message counted;
  --    the next transaction on the connection works.
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "abort@example.net", "i", "AB1") == nil)
  assert(mt.mailfrom(conn, "<abort@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE)
  rcpt("d@remote.example")
  t.rcpt(conn, "unknown1@isp.example", true, SMFIR_CONTINUE, "rejected RCPT before abort")
  assert(mt.abort(conn) == nil)
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "abort@example.net", "i", "AB2") == nil)
  assert(mt.mailfrom(conn, "<abort@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "MAIL after abort")
  rcpt("e@remote.example")
  eom("after abort")
  assert(cnt("abort@example.net", "msgs", "1") == "1", "abort: msgs (only the finished message)")
  assert(cnt("abort@example.net", "rejected", "1") == "1", "abort: the failure before the abort still counts")

  -- 7. A new MAIL while a message is half done (no end, no abort).
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "twice@example.net", "i", "TW1") == nil)
  assert(mt.mailfrom(conn, "<twice@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE)
  rcpt("f@remote.example")
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "twice@example.net", "i", "TW2") == nil)
  assert(mt.mailfrom(conn, "<twice@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "second MAIL")
  rcpt("g@remote.example")
  eom("second MAIL")
  assert(cnt("twice@example.net", "msgs", "1") == "1", "MAIL twice: msgs")

  -- 8. An odd {i} (spaces, braces, colon): accepted, no crash.
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "oddqid@example.net", "i", "Q 1:{x}") == nil)
  assert(mt.mailfrom(conn, "<oddqid@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE)
  rcpt("h@remote.example")
  eom("odd {i}")
  assert(cnt("oddqid@example.net", "msgs", "1") == "1", "odd {i}: msgs")

  -- 9. The connection dropped in the middle of a message.
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "gone@example.net", "i", "GO1") == nil)
  assert(mt.mailfrom(conn, "<gone@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE)
  rcpt("i@remote.example")
  mt.disconnect(conn, true)

  -- A new connection works.
  conn = t.connect()
  assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "after@example.net", "i", "AF1") == nil)
  assert(mt.mailfrom(conn, "<after@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, "MAIL on a new connection")
  rcpt("j@remote.example")
  eom("new connection")
  assert(cnt("after@example.net", "msgs", "1") == "1", "new connection: msgs")
  mt.disconnect(conn)
end
local ok, err = pcall(main)
if not ok then
  io.stderr:write("FAIL: " .. tostring(err) .. "\n")
  os.exit(1)
end

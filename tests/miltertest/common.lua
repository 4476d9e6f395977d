-- common.lua - helpers shared by the miltertest scripts.
local M = {}

-- connect - a connection to the milter at socket (default SG_MILTER).
-- subguard does not take the CONNECT step: the client's address comes
-- as {client_addr} at MAIL (192.0.2.1 here, see mail).
function M.connect(socket)
  socket = socket or os.getenv("SG_MILTER")
  local conn = mt.connect(socket, 20, 0.1)
  assert(conn, "cannot connect to " .. tostring(socket))
  return conn
end

-- redis - run a redis-cli command on the private Redis
function M.redis(args)
  local p = io.popen("redis-cli -s " .. os.getenv("SG_REDIS_SOCK") .. " " .. args)
  local out = p:read("*a")
  p:close()
  return (out:gsub("%s+$", ""))
end

-- settled - redis(args) once it says want, or what it says after 5 s.
-- A clean message's commit reaches Redis a moment after the reply to its
-- end of message (milter/sg_commitq.c), so counts are read this way.
function M.settled(args, want)
  local got
  for _ = 1, 500 do
    got = M.redis(args)
    if got == want then
      return got
    end
    os.execute("sleep 0.01")
  end
  return got
end

-- mail - MAIL FROM as login (nil: unauthenticated) from 192.0.2.1.
-- subguard answers nothing at MAIL (SMFIP_NR_MAIL): the message is
-- decided at its first recipient. want is that decision: for anything
-- but SMFIR_CONTINUE a first recipient (first@remote.example) is sent
-- here and its reply checked; for SMFIR_CONTINUE the caller sends them.
function M.mail(conn, login, qid, want, what)
  if login then
    mt.macro(conn, SMFIC_MAIL, "{auth_authen}", login, "{auth_type}", "PLAIN",
             "i", qid, "{client_addr}", "192.0.2.1")
  else
    mt.macro(conn, SMFIC_MAIL, "i", qid, "{client_addr}", "192.0.2.1")
  end
  assert(mt.mailfrom(conn, "<sender@example.net>") == nil)
  assert(mt.getreply(conn) == SMFIR_CONTINUE, what .. ": MAIL answered")
  if want ~= SMFIR_CONTINUE then
    M.rcpt(conn, "first@remote.example", false, want,
           what .. " (the message's answer, at its first RCPT)")
  end
end

-- rcpt - RCPT TO, optionally as one the MTA rejected, expecting reply
function M.rcpt(conn, addr, rejected, want, what)
  if rejected then
    mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error", "{rcpt_host}", "5.1.1")
  else
    mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp", "{rcpt_host}", "mx.example")
  end
  assert(mt.rcptto(conn, "<" .. addr .. ">") == nil)
  assert(mt.getreply(conn) == want, what .. ": unexpected RCPT reply for " .. addr)
end

return M

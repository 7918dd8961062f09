-- (c) A message aborted half way, then a complete message on the same connection, then a clean quit.
-- Run: miltertest -D port=PORT -s abort-quit.lua
mt.set_timeout(5)
local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 20, 0.1)
if conn == nil then error("mt.connect() failed") end
if mt.negotiate(conn, nil, nil, nil) ~= nil then error("mt.negotiate() failed") end
if mt.conninfo(conn, "client.example.net", "192.0.2.10") ~= nil then error("mt.conninfo() failed") end
if mt.helo(conn, "client.example.net") ~= nil then error("mt.helo() failed") end

-- First message: aborted after part of its body.
if mt.mailfrom(conn, "<first@example.com>") ~= nil then error("mt.mailfrom(1) failed") end
if mt.rcptto(conn, "<one@example.net>") ~= nil then error("mt.rcptto(1) failed") end
if mt.header(conn, "Subject", "first") ~= nil then error("mt.header(1) failed") end
if mt.eoh(conn) ~= nil then error("mt.eoh(1) failed") end
if mt.bodystring(conn, "first body, never finished\r\n") ~= nil then error("mt.bodystring(1) failed") end
if mt.abort(conn) ~= nil then error("mt.abort() failed") end

-- Second message on the same connection: completes, with only its own body.
local body = "second body\r\n"
if mt.mailfrom(conn, "<second@example.com>") ~= nil then error("mt.mailfrom(2) failed") end
if mt.rcptto(conn, "<two@example.net>") ~= nil then error("mt.rcptto(2) failed") end
if mt.header(conn, "Subject", "second") ~= nil then error("mt.header(2) failed") end
if mt.eoh(conn) ~= nil then error("mt.eoh(2) failed") end
if mt.bodystring(conn, body) ~= nil then error("mt.bodystring(2) failed") end
if mt.eom(conn) ~= nil then error("mt.eom(2) failed") end
local reply = mt.getreply(conn)
if reply ~= SMFIR_CONTINUE and reply ~= SMFIR_ACCEPT then error("unexpected end-of-message reply " .. tostring(reply)) end
if not mt.eom_check(conn, MT_HDRADD, "X-Mailer-Info-Extra") and not mt.eom_check(conn, MT_HDRINSERT, "X-Mailer-Info-Extra") then
  error("X-Mailer-Info-Extra was not added to the second message")
end
-- No link: the body is not replaced. (That the aborted body did not leak in is checked by the test
-- harness from the daemon's log: the second message's bodyBytes are its own.)
if mt.eom_check(conn, MT_BODYCHANGE) then error("the second message's body was replaced") end

-- A third message after the completed one, then quit.
if mt.mailfrom(conn, "<third@example.com>") ~= nil then error("mt.mailfrom(3) failed") end
if mt.rcptto(conn, "<three@example.net>") ~= nil then error("mt.rcptto(3) failed") end
if mt.bodystring(conn, "third\r\n") ~= nil then error("mt.bodystring(3) failed") end
if mt.eom(conn) ~= nil then error("mt.eom(3) failed") end
if not mt.eom_check(conn, MT_HDRADD, "X-Mailer-Info-Extra") and not mt.eom_check(conn, MT_HDRINSERT, "X-Mailer-Info-Extra") then
  error("X-Mailer-Info-Extra was not added to the third message")
end

mt.disconnect(conn)
mt.echo("abort-quit: ok")

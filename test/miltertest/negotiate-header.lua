-- (a) Option negotiation, then one message: trackmilter must add the header named `header`
-- (X-Mailer-Info-Extra, which ties bounces to their recipient) with a non-empty value.
-- Run: miltertest -D port=PORT -D header=NAME -s negotiate-header.lua
mt.set_timeout(5)
local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 20, 0.1)
if conn == nil then error("mt.connect() failed") end

-- Offer everything libmilter knows (nil = mfdef.h defaults), as Postfix does.
if mt.negotiate(conn, nil, nil, nil) ~= nil then error("mt.negotiate() failed") end
if not mt.test_action(conn, SMFIF_ADDHDRS) then error("the milter did not ask to add headers") end
if not mt.test_action(conn, SMFIF_CHGBODY) then error("the milter did not ask to replace the body") end
if not mt.test_option(conn, SMFIP_NR_HDR) then error("the milter did not ask to skip replies to headers") end

if mt.conninfo(conn, "client.example.net", "192.0.2.10") ~= nil then error("mt.conninfo() failed") end
if mt.helo(conn, "client.example.net") ~= nil then error("mt.helo() failed") end
if mt.mailfrom(conn, "<sender@example.com>", "SIZE=100") ~= nil then error("mt.mailfrom() failed") end
if mt.rcptto(conn, "<recipient@example.net>") ~= nil then error("mt.rcptto() failed") end
if mt.data(conn) ~= nil then error("mt.data() failed") end
if mt.header(conn, "From", "sender@example.com") ~= nil then error("mt.header(From) failed") end
if mt.header(conn, "Subject", "miltertest") ~= nil then error("mt.header(Subject) failed") end
if mt.eoh(conn) ~= nil then error("mt.eoh() failed") end
if mt.bodystring(conn, "Hello from miltertest.\r\n") ~= nil then error("mt.bodystring() failed") end
if mt.eom(conn) ~= nil then error("mt.eom() failed") end

local reply = mt.getreply(conn)
if reply ~= SMFIR_CONTINUE and reply ~= SMFIR_ACCEPT then error("unexpected end-of-message reply " .. tostring(reply)) end
if not (mt.eom_check(conn, MT_HDRADD, header) or mt.eom_check(conn, MT_HDRINSERT, header)) then
  error(header .. " was not added")
end
local value = mt.getheader(conn, header, 0)
if value == nil then error("mt.getheader(" .. header .. ") found nothing") end
-- With HDR_LEADSPC negotiated the milter supplies the space after the colon itself: exactly one.
if not string.match(value, "^ [A-Za-z0-9_~]+") then error(header .. " is '" .. value .. "', expected one space then a token") end
-- The message has no control headers, so nothing may be changed or deleted.
if mt.eom_check(conn, MT_HDRCHANGE) or mt.eom_check(conn, MT_HDRDELETE) then error("unexpected header change") end
-- No link and no HTML: the body stays as it was, with no REPLBODY at all.
if mt.eom_check(conn, MT_BODYCHANGE) then error("a body without links was replaced") end

mt.disconnect(conn)
mt.echo("negotiate-header: ok")

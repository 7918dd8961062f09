-- (b) A small body with a link (under 1 KB: miltertest crashes on larger REPLBODY packets) comes back
-- through REPLBODY, rewritten: not the original, and not some other text. The link count is checked
-- by the test harness from the daemon's log.
-- Run: miltertest -D port=PORT -s body-replaced.lua
mt.set_timeout(5)
local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 20, 0.1)
if conn == nil then error("mt.connect() failed") end
if mt.negotiate(conn, nil, nil, nil) ~= nil then error("mt.negotiate() failed") end

local body = "Line one of the body.\r\n" ..
  "A link: https://example.com/path?a=1&b=2\r\n" ..
  "\r\n" ..
  "-- \r\n" ..
  "Signature\r\n"

if mt.conninfo(conn, "localhost", "127.0.0.1") ~= nil then error("mt.conninfo() failed") end
if mt.mailfrom(conn, "<sender@example.com>") ~= nil then error("mt.mailfrom() failed") end
if mt.rcptto(conn, "<recipient@example.net>") ~= nil then error("mt.rcptto() failed") end
if mt.header(conn, "Subject", "body") ~= nil then error("mt.header() failed") end
if mt.eoh(conn) ~= nil then error("mt.eoh() failed") end
-- Two body chunks: the milter must join them.
if mt.bodystring(conn, string.sub(body, 1, 30)) ~= nil then error("mt.bodystring(1) failed") end
if mt.bodystring(conn, string.sub(body, 31)) ~= nil then error("mt.bodystring(2) failed") end
if mt.eom(conn) ~= nil then error("mt.eom() failed") end

local reply = mt.getreply(conn)
if reply ~= SMFIR_CONTINUE and reply ~= SMFIR_ACCEPT then error("unexpected end-of-message reply " .. tostring(reply)) end
if not mt.eom_check(conn, MT_BODYCHANGE) then error("the body was not replaced") end
if mt.eom_check(conn, MT_BODYCHANGE, body) then error("the body came back unchanged: the link was not rewritten") end
if mt.eom_check(conn, MT_BODYCHANGE, "something else") then error("MT_BODYCHANGE matched any content: the check proves nothing") end

mt.disconnect(conn)
mt.echo("body-replaced: ok")

/**
 * bench:truth's clock for the daemon it measures, loaded with `node --import` into that daemon only:
 * once a request carries `X-Replay-Time: <ms since the epoch>`, Date.now() answers that time (until
 * the next such request) instead of the wall clock. The bench sends its requests one at a time in
 * the order of their planned times, each with its time, so every verdict is the one that time gives,
 * whatever the machine's load: the same seed gives the same figures. Nothing in trackmilter reads the
 * header; it is seen here as the bytes arrive, before the server reads them, in the socket's 'data'
 * events: the bench opens a connection per request, as node:http's parser (which serves connections
 * the fast front hands over) reads its sockets natively, without them. Not for production.
 */
import net from 'node:net';

const wallClock = Date.now;
let replayNow;
Date.now = () => replayNow ?? wallClock();

const HEADER = /\r\nx-replay-time: *(\d+)\r\n/i;
const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, ...args) {
  if (event === 'data' && Buffer.isBuffer(args[0])) {
    const found = HEADER.exec(args[0].toString('latin1'));
    if (found) replayNow = Number(found[1]);
  }
  return emit.call(this, event, ...args);
};

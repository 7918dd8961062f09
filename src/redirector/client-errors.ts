// What to answer a request node's HTTP parser refused before it reached us: heads over
// maxHeaderSize, timeouts (the slowloris defence), malformed requests.

interface ClientErrorAnswer {
  status: 400 | 408 | 414 | 431;
  /** The limit counted on trackmilter_http_limit_hits_total. */
  limit: 'bad_request' | 'url_too_long' | 'headers_too_large' | 'timeout';
}

/** The answer, or null when the peer is gone or hung up mid-request and the socket is only destroyed. */
export function answerClientError(err: { code?: string; rawPacket?: Buffer }, maxUrlBytes: number): ClientErrorAnswer | null {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return requestLineOverflowed(err.rawPacket, maxUrlBytes) ? { status: 414, limit: 'url_too_long' } : { status: 431, limit: 'headers_too_large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, limit: 'timeout' };
    case 'ECONNRESET':
    case 'HPE_INVALID_EOF_STATE':
      return null;
    default:
      return { status: 400, limit: 'bad_request' };
  }
}

/**
 * Node counts the request line towards maxHeaderSize and reports both the same way. The chunk that
 * overflowed tells them apart: a request line too long has no line break within maxUrlBytes.
 * (A request line trickled in many small chunks may still be called 431.)
 */
function requestLineOverflowed(packet: Buffer | undefined, maxUrlBytes: number): boolean {
  if (!packet) return false;
  const lineEnd = packet.indexOf(0x0a);
  return lineEnd === -1 || lineEnd > maxUrlBytes;
}

import { describe, expect, it } from 'vitest';
import { answerClientError } from '../../src/redirector/client-errors.js';

describe('answerClientError', () => {
  it('tells an overlong request line (414) from overlong headers (431) by where the first line break is', () => {
    const longLine = Buffer.from(`GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: x\r\n`);
    const longHeaders = Buffer.from(`GET /a HTTP/1.1\r\nX: ${'b'.repeat(100)}\r\n`);
    expect(answerClientError({ code: 'HPE_HEADER_OVERFLOW', rawPacket: longLine }, 50)).toEqual({ status: 414, limit: 'url_too_long' });
    expect(answerClientError({ code: 'HPE_HEADER_OVERFLOW', rawPacket: longHeaders }, 50)).toEqual({ status: 431, limit: 'headers_too_large' });
    expect(answerClientError({ code: 'HPE_HEADER_OVERFLOW' }, 50)).toEqual({ status: 431, limit: 'headers_too_large' });
  });

  it('answers a timeout 408, anything else malformed 400, and only destroys a socket whose peer is gone', () => {
    expect(answerClientError({ code: 'ERR_HTTP_REQUEST_TIMEOUT' }, 50)).toEqual({ status: 408, limit: 'timeout' });
    expect(answerClientError({ code: 'HPE_INVALID_METHOD' }, 50)).toEqual({ status: 400, limit: 'bad_request' });
    expect(answerClientError({}, 50)).toEqual({ status: 400, limit: 'bad_request' });
    expect(answerClientError({ code: 'ECONNRESET' }, 50)).toBeNull();
    expect(answerClientError({ code: 'HPE_INVALID_EOF_STATE' }, 50)).toBeNull();
  });
});

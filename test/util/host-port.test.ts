import { describe, expect, it } from 'vitest';
import { parseHostPort } from '../../src/util/host-port.js';
import { CodedError } from '../../src/util/errors.js';

describe('parseHostPort', () => {
  it('takes HOST:PORT, [IPv6]:PORT and PORT@HOST', () => {
    expect(parseHostPort('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseHostPort('8080@0.0.0.0')).toEqual({ host: '0.0.0.0', port: 8080 });
  });

  it.each(['127.0.0.1', ':8080', '127.0.0.1:http', '[::1]', 'host:70000'])('refuses %j', (text) => {
    expect(() => parseHostPort(text)).toThrow(CodedError);
  });
});

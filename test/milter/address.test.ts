import { describe, expect, it } from 'vitest';
import { formatSocketSpec, parseSocketSpec } from '../../src/milter/address.js';
import { CodedError } from '../../src/util/errors.js';

describe('parseSocketSpec', () => {
  it.each([
    ['inet:127.0.0.1:8899', { kind: 'inet', host: '127.0.0.1', port: 8899 }],
    ['inet:localhost:25', { kind: 'inet', host: 'localhost', port: 25 }],
    ['inet:0.0.0.0:0', { kind: 'inet', host: '0.0.0.0', port: 0 }],
    ['inet:127.0.0.1:65535', { kind: 'inet', host: '127.0.0.1', port: 65535 }],
    ['INET:127.0.0.1:8899', { kind: 'inet', host: '127.0.0.1', port: 8899 }],
    ['inet:[::1]:8899', { kind: 'inet', host: '::1', port: 8899 }],
    ['inet:[2001:db8::25]:10025', { kind: 'inet', host: '2001:db8::25', port: 10025 }],
    ['inet6:[::1]:8899', { kind: 'inet', host: '::1', port: 8899 }],
    // sendmail's PORT@HOST
    ['inet:8899@127.0.0.1', { kind: 'inet', host: '127.0.0.1', port: 8899 }],
    ['inet:8899@localhost', { kind: 'inet', host: 'localhost', port: 8899 }],
    ['inet6:8899@::1', { kind: 'inet', host: '::1', port: 8899 }],
    ['inet6:8899@[::1]', { kind: 'inet', host: '::1', port: 8899 }],
    ['unix:/run/trackmilter/milter.sock', { kind: 'unix', path: '/run/trackmilter/milter.sock' }],
    ['local:/var/spool/postfix/trackmilter/milter', { kind: 'unix', path: '/var/spool/postfix/trackmilter/milter' }],
    ['unix:relative/milter.sock', { kind: 'unix', path: 'relative/milter.sock' }],
    ['/run/milter.sock', { kind: 'unix', path: '/run/milter.sock' }],
  ])('%s', (spec, expected) => {
    expect(parseSocketSpec(spec)).toEqual(expected);
  });

  it.each([
    '',
    'unix:',
    'local:',
    'inet:',
    'inet:127.0.0.1',
    'inet:127.0.0.1:',
    'inet:127.0.0.1:65536',
    'inet:127.0.0.1:99999',
    'inet:127.0.0.1:-1',
    'inet:127.0.0.1:80a',
    'inet:127.0.0.1: 80',
    'inet::8899',
    'inet:[::1]8899',
    'inet:[::1',
    'inet:[]:8899',
    'inet:@127.0.0.1',
    'inet:8899@',
    'tcp:127.0.0.1:8899',
    'localhost:8899',
    '8899',
    'milter.sock',
  ])('refuses %j with a coded error naming the spec', (spec) => {
    let err: unknown;
    try {
      parseSocketSpec(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CodedError);
    expect((err as CodedError).code).toBe('ESOCKET_SPEC');
    expect((err as CodedError).message).toContain(`'${spec}'`);
  });
});

describe('formatSocketSpec', () => {
  it.each(['inet:127.0.0.1:8899', 'inet:[::1]:8899', 'inet:[2001:db8::1]:25', 'unix:/run/x.sock'])('%s round-trips', (spec) => {
    expect(formatSocketSpec(parseSocketSpec(spec))).toBe(spec);
  });

  it('writes the forms admins know, whatever form came in', () => {
    expect(formatSocketSpec(parseSocketSpec('inet:8899@127.0.0.1'))).toBe('inet:127.0.0.1:8899');
    expect(formatSocketSpec(parseSocketSpec('inet6:8899@::1'))).toBe('inet:[::1]:8899');
    expect(formatSocketSpec(parseSocketSpec('local:/x.sock'))).toBe('unix:/x.sock');
  });
});

import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** A self-signed certificate for `cn`, valid two days: `<dir>/<name>.crt` and `<dir>/<name>.key`. */
export function makeSelfSignedCert(dir: string, name: string, cn: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path.join(dir, `${name}.key`),
      '-out',
      path.join(dir, `${name}.crt`),
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
    ],
    { stdio: 'ignore' },
  );
}

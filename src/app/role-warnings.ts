// Settings that are valid but do nothing, or less than an admin would expect, in a given role.
import type { ConfigValues } from '../config/load.js';
import type { DaemonRole } from './daemon.js';

export function roleWarnings(config: ConfigValues, role: DaemonRole): string[] {
  const warnings: string[] = [];
  if (role === 'milter' && config['bounce.addresses'].trim() !== '') {
    warnings.push(
      'bounce.addresses is set, but the milter role has no store to record bounces into: mail to those addresses passes untouched (neither read nor tracked); run serve, or feed bounces to `trackmilter bounce` instead',
    );
  }
  const mailto = config['unsubscribe.mailto'].trim();
  if (mailto !== '' && !/^[^\s@]+@[^\s@]+$/.test(mailto)) {
    warnings.push(`unsubscribe.mailto "${mailto}" is not an address: List-Unsubscribe gets no mailto: form and no mail is read as an unsubscribe`);
  } else if (role === 'milter' && mailto !== '') {
    warnings.push('unsubscribe.mailto is set, but the milter role has no store to record unsubscribes into: mail to that address passes untouched; run serve');
  }
  return warnings;
}

/** The fuzz targets by name (loaded lazily: the redirector target needs a built daemon, milter a server). */
import type { FuzzTarget } from '../target.js';

export const TARGET_NAMES = ['milter', 'mime', 'tokens', 'redirector', 'bounce'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export function isTargetName(name: string): name is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(name);
}

export async function loadTarget(name: string): Promise<FuzzTarget> {
  switch (name) {
    case 'milter':
      return (await import('./milter.js')).milterTarget;
    case 'mime':
      return (await import('./mime.js')).mimeTarget;
    case 'tokens':
      return (await import('./tokens.js')).tokensTarget;
    case 'redirector':
      return (await import('./redirector.js')).redirectorTarget;
    case 'bounce':
      return (await import('./bounce.js')).bounceTarget;
    default:
      throw new Error(`unknown fuzz target '${name}' (targets: ${TARGET_NAMES.join(', ')}, all)`);
  }
}

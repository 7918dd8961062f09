// From the effective config to the objects the filter needs.
import type { ConfigValues } from '../config/load.js';
import type { ClassSettings } from '../config/schema.js';
import type { RewriteSettings } from './plan-rewrite.js';
import { createSimpleMinter } from '../links/simple-minter.js';
import type { LinkMinter } from '../rewrite/types.js';

export function rewriteSettings(config: ConfigValues): RewriteSettings {
  return {
    clicks: config['tracking.clicks'],
    opens: config['tracking.opens'],
    maxLinks: config['limits.max_links'],
    skipDkimSigned: config['rewrite.skip_dkim_signed'],
    limits: {
      maxDepth: config['limits.max_mime_depth'],
      maxParts: config['limits.max_mime_parts'],
      maxPartBytes: config['limits.max_part_bytes'],
    },
  };
}

/** Links point at the tracking domain, or at the HTTP listener itself so that one machine works end to end. */
export function linkBaseUrl(config: ConfigValues, settings: Pick<ClassSettings, 'domain' | 'scheme'> = {
  domain: config['tracking.domain'],
  scheme: config['tracking.scheme'],
}): string {
  return settings.domain ? `${settings.scheme}://${settings.domain}` : `http://${config['http.listen']}`;
}

export function createMinter(config: ConfigValues, key: Buffer): LinkMinter {
  return createSimpleMinter({ baseUrl: linkBaseUrl(config), key, trackingHosts: [] });
}

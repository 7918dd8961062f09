// From the effective config (and a message's class settings) to what the rewriting needs.
import type { ConfigValues } from '../config/load.js';
import type { ClassSettings } from '../config/schema.js';
import type { TrackingOrigin } from '../tokens/index.js';
import type { RewriteSettings } from './plan-rewrite.js';

export function rewriteSettings(
  config: ConfigValues,
  settings: Pick<ClassSettings, 'clicks' | 'opens'> & Partial<Pick<ClassSettings, 'honeypot'>>,
): RewriteSettings {
  return {
    clicks: settings.clicks,
    opens: settings.opens,
    honeypot: settings.honeypot ?? false,
    maxLinks: config['rewrite.max_links'],
    skipDkimSigned: config['rewrite.skip_dkim_signed'],
    limits: {
      maxDepth: config['rewrite.max_mime_depth'],
      maxParts: config['rewrite.max_mime_parts'],
      maxPartBytes: config['rewrite.max_part_bytes'],
    },
  };
}

/** Links point at the class's tracking domain, or at the HTTP listener itself so one machine works end to end. */
export function trackingOrigin(config: ConfigValues, settings: Pick<ClassSettings, 'domain' | 'scheme'>): TrackingOrigin {
  if (settings.domain) return { scheme: settings.scheme, domain: settings.domain };
  return { scheme: 'http', domain: config['http.listen'] };
}

/** Every host a link of ours can point at: never tracked twice, and the only hosts the redirector answers for. */
export function trackingHosts(config: ConfigValues): Set<string> {
  const hosts = [
    config['tracking.domain'],
    config['http.listen'],
    ...Object.values(config.classes).map((c) => c.domain ?? ''),
    ...Object.values(config.senderDomains),
  ];
  return new Set(hosts.filter((h) => h !== '').map((h) => h.toLowerCase()));
}

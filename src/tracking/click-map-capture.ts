// The HTML a send's click map shows: the top text/html part of its first message, as the rewriter sees
// it, with each trackable link's href replaced by a marker naming its position (the same rewriter
// numbers the links, so positions match the events'), and personal data removed unless kept.
import type { HeaderField } from '../milter/commands.js';
import { rewriteBody } from '../mime/index.js';
import { rewriteHtml } from '../rewrite/html.js';
import type { LinkMinter } from '../rewrite/types.js';
import type { RewriteSettings } from './plan-rewrite.js';

/** Marker links: `CLICK_MAP_ORIGIN/h/<position>?u=<URL>`; never fetched (the .invalid TLD). */
export const CLICK_MAP_ORIGIN = 'https://clickmap.trackmilter.invalid';

interface CaptureOptions {
  mode: 'redact' | 'keep';
  recipients: readonly string[];
  emailCode: string;
  isTrackingUrl: (url: URL) => boolean;
}

/** The marked HTML, or null when the message has no HTML part the rewriter would read. */
export function captureClickMapHtml(headers: HeaderField[], body: Buffer, settings: RewriteSettings, o: CaptureOptions): string | null {
  let html: string | null = null;
  rewriteBody(
    headers,
    body,
    (kind, text) => {
      if (kind === 'html' && html === null) html = text;
      return null;
    },
    settings.limits,
  );
  if (html === null) return null;
  const source = o.mode === 'redact' ? redact(html, o.recipients, o.emailCode) : html;
  const minter: LinkMinter = {
    click: (link) => `${CLICK_MAP_ORIGIN}/${link.part}/${link.position}?u=${encodeURIComponent(link.url)}`,
    open: () => '',
    isTrackingUrl: o.isTrackingUrl,
  };
  // The same link limit as the real rewrite: links past it went out untracked and get no marker.
  return rewriteHtml(source, { minter, clicks: true, opens: false, maxLinks: settings.maxLinks }).text;
}

const QUERY_IN_URL = /(https?:\/\/[^\s"'<>?#]*)[?#][^\s"'<>]*/gi;

/**
 * Personal data out: every URL loses its query string and fragment (where per-recipient ids live), the
 * recipients' addresses (also percent-encoded) and the email code become placeholders.
 */
export function redact(html: string, recipients: readonly string[], emailCode: string): string {
  let out = html.replace(QUERY_IN_URL, '$1');
  for (const address of recipients.filter((r) => r !== '')) {
    for (const form of new Set([address, encodeURIComponent(address)])) out = out.replace(new RegExp(escapeRegExp(form), 'gi'), 'recipient@example.invalid');
  }
  if (emailCode.length >= 4) out = out.replace(new RegExp(escapeRegExp(emailCode), 'g'), 'EMAIL-CODE');
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

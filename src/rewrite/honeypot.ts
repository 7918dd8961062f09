/**
 * The honeypot: one extra link per tracked HTML part that no person can follow. It is an empty anchor
 * (no text, no image: nothing to see or click, whatever the client does with CSS), `aria-hidden` so
 * screen readers skip it, and `tabindex="-1"` so keyboard users never land on it. No hidden text, no
 * tiny font, no display:none: nothing of what spam filters score as hidden content. Security scanners
 * follow every href of a message, so a hit on it is a machine (src/truth/context-rules.ts).
 *
 * It has position 0 of the HTML part (real links count from 1) and the link name below, and leads where
 * the part's first tracked link leads, so a scanner sees an ordinary link.
 */
import { encodeAttrValue } from './attr-encoding.js';

export const HONEYPOT_POSITION = 0;
export const HONEYPOT_LINK_NAME = 'trackmilter-honeypot';

export function honeypotHtml(url: string): string {
  return `<a href="${encodeAttrValue(url, '"')}" aria-hidden="true" tabindex="-1"></a>`;
}

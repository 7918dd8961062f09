// The click map: a send's kept HTML (see tracking/click-map-capture.ts) with each tracked link of the
// HTML part marked by its human clicks and their share of the send's human clicks. The result is shown
// in a sandboxed frame under a CSP without scripts or remote loads; here every href goes too, so
// nothing in the frame can navigate anywhere.
import type { PositionAggregate } from '../store/send-aggregates.js';
import { escapeHtml } from './html-escape.js';

const MARKER = /\bhref\s*=\s*(["']?)https:\/\/clickmap\.trackmilter\.invalid\/h\/(\d+)\?u=([^"'\s>]*)\1/gi;
const ANY_HREF = /(<[a-z][^>]*?\s)href(\s*=)/gi;
const META_REFRESH = /<meta\b[^>]*http-equiv\s*=\s*["']?refresh[^>]*>/gi;

export interface ClickMapLink {
  position: number;
  url: string;
  humanClicks: number;
  /** Share of the send's human clicks, 0 to 1. */
  share: number;
}

const STYLE = `<style>
.tm-badge{display:inline-block;font:bold 12px/1.3 sans-serif;color:#000;background:#ffe14d;border:2px solid #000;border-radius:3px;padding:0 4px;margin:0 3px;vertical-align:middle;white-space:nowrap;text-decoration:none}
[data-tm-link]{outline:2px dashed #000;outline-offset:1px}
</style>`;

export function shareText(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

export function renderClickMap(html: string, positions: readonly PositionAggregate[], humanClicksOfSend: number): { html: string; links: ClickMapLink[] } {
  const clicksAt = new Map<number, number>();
  for (const p of positions) if (p.part === 'h') clicksAt.set(p.position, (clicksAt.get(p.position) ?? 0) + p.humanClicks);
  const links: ClickMapLink[] = [];
  const splices: { at: number; end: number; text: string }[] = [];
  for (const m of html.matchAll(MARKER)) {
    const position = Number(m[2]);
    const url = safeDecode(m[3]!);
    const humanClicks = clicksAt.get(position) ?? 0;
    const share = humanClicksOfSend > 0 ? humanClicks / humanClicksOfSend : 0;
    links.push({ position, url, humanClicks, share });
    const tagStart = html.lastIndexOf('<', m.index);
    const badge = `<span class="tm-badge" data-position="${position}" data-clicks="${humanClicks}">#${position}: ${humanClicks} ${humanClicks === 1 ? 'click' : 'clicks'}, ${shareText(share)}</span>`;
    if (tagStart >= 0) splices.push({ at: tagStart, end: tagStart, text: badge });
    splices.push({ at: m.index, end: m.index + m[0].length, text: `data-tm-link="${position}" title="${escapeHtml(url)}"` });
  }
  let out = html;
  for (const s of splices.sort((a, b) => b.at - a.at || b.end - a.end)) out = out.slice(0, s.at) + s.text + out.slice(s.end);
  out = out.replace(META_REFRESH, '').replace(ANY_HREF, '$1data-tm-href$2');
  const head = /<head\b[^>]*>/i.exec(out);
  out = head ? out.slice(0, head.index + head[0].length) + STYLE + out.slice(head.index + head[0].length) : STYLE + out;
  return { html: out, links };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// The dashboard's pages as HTML, from report data. Pure: numbers in, markup out. Everything that is
// not a chart is plain HTML (tables, forms, links), readable without scripts or colour; the charts
// are drawn by the bundled script from the JSON in the page.
import type { SendReport } from '../reports/report.js';
import type { SeriesPoint } from '../reports/send-series.js';
import type { ClickMapLink } from '../reports/click-map.js';
import { shareText } from '../reports/click-map.js';
import { escapeHtml as h } from '../reports/html-escape.js';
import type { PositionAggregate, SendTotals } from '../store/send-aggregates.js';

export const ASSETS = '/admin/assets/';

function page(title: string, body: string, charts = false): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)} · trackmilter</title>
<link rel="stylesheet" href="${ASSETS}dashboard.css">${charts ? `\n<link rel="stylesheet" href="${ASSETS}uPlot.min.css">\n<script src="${ASSETS}dashboard.js" defer></script>` : ''}
</head><body>
<header><nav><a href="/admin/">Sends</a></nav><span class="brand">trackmilter</span></header>
<main>
${body}
</main></body></html>
`;
}

const n = (value: number): string => value.toLocaleString('en-US');
const time = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
const sendHref = (sendId: string): string => `/admin/send?id=${encodeURIComponent(sendId)}`;
const sendLabel = (sendId: string): string => (sendId === '' ? '(no SendID)' : sendId);

export interface SendListPage {
  sends: SendTotals[];
  query: string;
  page: number;
  pages: number;
  total: number;
}

export function sendsPage(o: SendListPage): string {
  const rows = o.sends
    .map(
      (t) => `<tr data-send="${h(t.sendId)}">
<th scope="row"><a href="${h(sendHref(t.sendId))}">${h(sendLabel(t.sendId))}</a></th>
<td>${h(time(t.firstMs))}</td>
<td data-field="messages">${n(t.messages)}</td>
<td data-field="human.uniqueOpens">${n(t.human.uniqueOpens)}</td><td data-field="all.uniqueOpens">${n(t.all.uniqueOpens)}</td>
<td data-field="human.uniqueClicks">${n(t.human.uniqueClicks)}</td><td data-field="all.uniqueClicks">${n(t.all.uniqueClicks)}</td>
<td data-field="all.bounces">${n(t.all.bounces)}</td><td data-field="all.complaints">${n(t.all.complaints)}</td>
<td data-field="human.unsubscribes">${n(t.human.unsubscribes)}</td><td data-field="all.unsubscribes">${n(t.all.unsubscribes)}</td>
</tr>`,
    )
    .join('\n');
  const link = (p: number, label: string): string => `<a href="/admin/?q=${encodeURIComponent(o.query)}&amp;page=${p}">${label}</a>`;
  const nav = [o.page > 1 ? link(o.page - 1, '← newer') : '', `page ${o.page} of ${Math.max(o.pages, 1)}`, o.page < o.pages ? link(o.page + 1, 'older →') : '']
    .filter(Boolean)
    .join(' · ');
  return page(
    'Sends',
    `<h1>Sends</h1>
<form method="get" action="/admin/" role="search"><label>SendID contains <input type="search" name="q" value="${h(o.query)}"></label> <button type="submit">Search</button></form>
<p class="count">${n(o.total)} ${o.total === 1 ? 'send' : 'sends'}, newest first.</p>
<div class="scroll"><table class="sends">
<thead><tr><th rowspan="2" scope="col">SendID</th><th rowspan="2" scope="col">first seen</th><th rowspan="2" scope="col">messages</th>
<th colspan="2" scope="colgroup">unique opens</th><th colspan="2" scope="colgroup">unique clicks</th><th rowspan="2" scope="col">bounces</th><th rowspan="2" scope="col">complaints</th><th colspan="2" scope="colgroup">unsubscribes</th></tr>
<tr><th scope="col">humans</th><th scope="col">all</th><th scope="col">humans</th><th scope="col">all</th><th scope="col">humans</th><th scope="col">all</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="11">No sends match.</td></tr>'}
</tbody></table></div>
<nav class="pages">${nav}</nav>`,
  );
}

export interface SendPageData {
  report: SendReport;
  totals: SendTotals | undefined;
  series: SeriesPoint[];
  positions: PositionAggregate[];
  hasClickMap: boolean;
}

function countTable(title: string, record: Record<string, number>, empty: string, cls: string): string {
  const entries = Object.entries(record).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return `<h2>${h(title)}</h2><p>${h(empty)}</p>`;
  return `<h2>${h(title)}</h2><table class="${cls}"><tbody>${entries.map(([k, v]) => `<tr><th scope="row">${h(k)}</th><td data-key="${h(k)}">${n(v)}</td></tr>`).join('')}</tbody></table>`;
}

function seriesTable(label: string, points: SeriesPoint[], human: keyof SeriesPoint, machine: keyof SeriesPoint): string {
  const rows = points
    .map((p) => `<tr><td>${h(time(p.startMs))}</td><td>${p.granularity}</td><td>${n(p[human] as number)}</td><td>${n(p[machine] as number)}</td></tr>`)
    .join('');
  return `<details><summary>${h(label)} as a table</summary><div class="scroll"><table><thead><tr><th scope="col">from</th><th scope="col">per</th><th scope="col">humans</th><th scope="col">machines</th></tr></thead><tbody>${rows}</tbody></table></div></details>`;
}

export function sendPage(d: SendPageData): string {
  const r = d.report;
  const row = (label: string, field: keyof SendReport['all']): string =>
    `<tr><th scope="row">${label}</th><td data-field="human.${field}">${n(r.human[field] as number)}</td><td data-field="machine.${field}">${field.startsWith('unique') ? '' : n((r.all[field] as number) - (r.human[field] as number))}</td><td data-field="all.${field}">${n(r.all[field] as number)}</td></tr>`;
  const humanClicks = r.human.clicks;
  const positions = [...d.positions]
    .sort((a, b) => (a.part === b.part ? a.position - b.position : a.part < b.part ? -1 : 1))
    .map(
      (
        p,
      ) => `<tr data-part="${h(p.part)}" data-position="${p.position}"><td>${p.part === 'h' ? 'html' : 'text'}</td><td>${p.position}</td><td class="url">${h(p.url)}</td><td>${h(p.linkName)}</td>
<td data-field="humanClicks">${n(p.humanClicks)}</td><td data-field="clicks">${n(p.clicks)}</td><td>${shareText(humanClicks > 0 ? p.humanClicks / humanClicks : 0)}</td></tr>`,
    )
    .join('\n');
  const links = r.all.links
    .map((l) => {
      const hl = r.human.links.find((x) => x.url === l.url && x.linkName === l.linkName);
      return `<tr><td class="url">${h(l.url)}</td><td>${h(l.linkName)}</td><td>${n(hl?.clicks ?? 0)}</td><td>${n(l.clicks)}</td><td>${n(hl?.uniqueClicks ?? 0)}</td><td>${n(l.uniqueClicks)}</td></tr>`;
    })
    .join('\n');
  const reasons = Object.entries(r.machineReasons).map(([reason, byType]) => [reason, Object.values(byType).reduce((a, b) => a + b, 0)] as const);
  const series = JSON.stringify(d.series.map((p) => [p.startMs, p.granularity, p.humanOpens, p.machineOpens, p.humanClicks, p.machineClicks])).replace(
    /</g,
    '\\u003c',
  );
  const t = d.totals;
  return page(
    `Send ${sendLabel(r.sendId)}`,
    `<h1>Send <span class="sendid">${h(sendLabel(r.sendId))}</span></h1>
<p class="facts"><span data-field="messages">${n(r.messages)}</span> messages${t ? `; first ${h(time(t.firstMs))}, last ${h(time(t.lastMs))}` : ''}${d.hasClickMap ? ` · <a href="/admin/clickmap?id=${encodeURIComponent(r.sendId)}">click map</a>` : ''}</p>
<table class="summary" id="summary"><thead><tr><th></th><th scope="col">humans</th><th scope="col">machines</th><th scope="col">all</th></tr></thead><tbody>
${row('opens', 'opens')}
${row('unique opens', 'uniqueOpens')}
${row('clicks', 'clicks')}
${row('unique clicks', 'uniqueClicks')}
${row('bounces', 'bounces')}
${row('complaints', 'complaints')}
${row('unsubscribes', 'unsubscribes')}
</tbody></table>
<h2>Over time</h2>
<p class="note">The first hours per minute, then per hour, then per day (UTC). Humans solid, machines hatched on top.</p>
<figure><figcaption>Opens</figcaption><div class="chart" data-chart="opens" role="img" aria-label="Opens over time, humans and machines stacked"></div>${seriesTable('Opens', d.series, 'humanOpens', 'machineOpens')}</figure>
<figure><figcaption>Clicks</figcaption><div class="chart" data-chart="clicks" role="img" aria-label="Clicks over time, humans and machines stacked"></div>${seriesTable('Clicks', d.series, 'humanClicks', 'machineClicks')}</figure>
<script type="application/json" id="series-data">${series}</script>
<h2>Clicks per link</h2>
<div class="scroll"><table class="positions"><thead><tr><th scope="col">part</th><th scope="col">position</th><th scope="col">URL (up to ?)</th><th scope="col">link name</th><th scope="col">human clicks</th><th scope="col">all clicks</th><th scope="col">share of human clicks</th></tr></thead><tbody>
${positions || '<tr><td colspan="7">No clicks yet.</td></tr>'}
</tbody></table></div>
<h3>Per URL and link name, with unique clickers</h3>
<div class="scroll"><table class="links"><thead><tr><th scope="col">URL</th><th scope="col">link name</th><th scope="col">human clicks</th><th scope="col">all clicks</th><th scope="col">unique humans</th><th scope="col">unique all</th></tr></thead><tbody>
${links || '<tr><td colspan="6">No clicks yet.</td></tr>'}
</tbody></table></div>
${countTable('Bounces by class', r.bounceClasses, 'No bounces.', 'bounce-classes')}
${countTable('Complaints by feedback type', r.complaintTypes, 'No complaints.', 'complaint-types')}
<h2>Unsubscribes</h2><p><span data-field="all.unsubscribes">${n(r.all.unsubscribes)}</span> (<span data-field="human.unsubscribes">${n(r.human.unsubscribes)}</span> by humans)</p>
${countTable('Machine verdicts by reason', Object.fromEntries(reasons), 'No machine events.', 'machine-reasons')}`,
    true,
  );
}

export function clickMapPage(sendId: string, links: ClickMapLink[], humanClicks: number): string {
  const rows = links
    .map(
      (l) =>
        `<tr data-position="${l.position}"><td>${l.position}</td><td class="url">${h(l.url)}</td><td data-field="humanClicks">${n(l.humanClicks)}</td><td>${shareText(l.share)}</td></tr>`,
    )
    .join('\n');
  return page(
    `Click map ${sendLabel(sendId)}`,
    `<h1>Click map of <a href="${h(sendHref(sendId))}">${h(sendLabel(sendId))}</a></h1>
<p class="note">The send's HTML as its first message carried it, each tracked link marked with its human clicks and their share of the send's ${n(humanClicks)} human clicks. Shown without scripts, images from elsewhere or working links.</p>
<iframe class="clickmap" sandbox="" referrerpolicy="no-referrer" title="The message with click counts" src="/admin/clickmap-frame?id=${encodeURIComponent(sendId)}"></iframe>
<div class="scroll"><table class="clickmap-links"><thead><tr><th scope="col">position</th><th scope="col">URL</th><th scope="col">human clicks</th><th scope="col">share</th></tr></thead><tbody>
${rows || '<tr><td colspan="4">No tracked links in the HTML.</td></tr>'}
</tbody></table></div>`,
  );
}

export function messagePage(status: number, title: string, text: string): string {
  return page(title, `<h1>${h(title)}</h1><p>${h(text)}</p><p class="note">HTTP ${status}</p>`);
}

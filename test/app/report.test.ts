// A send's numbers (summarize, formatReport) and the event export formats (JSON lines, CSV), from
// events written out by hand.
import { describe, expect, it } from 'vitest';
import { formatReport, machineEventsByReason, summarize, type SendReport } from '../../src/reports/report.js';
import { CSV_HEADER, eventCsvLine, eventJsonLine } from '../../src/reports/event-format.js';
import { toEventJson } from '../../src/events/index.js';
import type { TrackEvent } from '../../src/store/index.js';
import { parseCsv } from './helpers/csv.js';

const SEND_ID = 'a100525';
let nextId = 1;

function ev(fields: Partial<TrackEvent>): TrackEvent {
  const id = Buffer.alloc(8);
  id.writeUInt32BE(nextId++, 4);
  return {
    id,
    time: new Date(Date.UTC(2026, 9, 12, 9, 30, nextId)),
    type: 'click',
    sendId: SEND_ID,
    listId: 'list-2931',
    recipient: 'ann@mail.example',
    emailCode: 'ec-ann',
    url: 'https://shop.example/sale',
    linkName: '',
    position: 1,
    part: 'h',
    ip: '198.51.100.7',
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/131.0',
    machine: false,
    ...fields,
  };
}

const machine = (fields: Partial<TrackEvent>): TrackEvent => ev({ machine: true, machineReason: 'scanner:proofpoint', ...fields });

async function* streamOf(events: TrackEvent[]): AsyncIterable<TrackEvent> {
  for (const e of events) yield e;
}

describe('summarize', () => {
  it('counts every click and open, and people once: by recipient', async () => {
    const events = [
      ev({ recipient: 'ann@mail.example' }),
      ev({ recipient: 'ann@mail.example', url: 'https://shop.example/other' }),
      ev({ recipient: 'bob@mail.example' }),
      ev({ type: 'open', recipient: 'ann@mail.example' }),
      ev({ type: 'open', recipient: 'ann@mail.example' }),
      ev({ type: 'open', recipient: 'bob@mail.example' }),
      ev({ type: 'open', recipient: 'cay@mail.example' }),
    ];
    const r = await summarize(SEND_ID, 3, events);
    expect(r).toMatchObject({ sendId: SEND_ID, messages: 3 });
    expect(r.all).toMatchObject({ clicks: 3, uniqueClicks: 2, opens: 4, uniqueOpens: 3 });
  });

  it('without a recipient (mail to several), people are told apart by email_code', async () => {
    const events = [
      ev({ recipient: '', emailCode: 'ec-1' }),
      ev({ recipient: '', emailCode: 'ec-1', ip: '203.0.113.9' }),
      ev({ recipient: '', emailCode: 'ec-2' }),
      ev({ type: 'open', recipient: '', emailCode: 'ec-1' }),
      ev({ type: 'open', recipient: '', emailCode: 'ec-3' }),
    ];
    const r = await summarize(SEND_ID, 1, events);
    expect(r.all).toMatchObject({ clicks: 3, uniqueClicks: 2, opens: 2, uniqueOpens: 2 });
  });

  it('with neither recipient nor email_code, one client (address and user agent) counts as one person', async () => {
    const anonymous = { recipient: '', emailCode: '' };
    const events = [
      ev({ ...anonymous, ip: '192.0.2.1' }),
      ev({ ...anonymous, ip: '192.0.2.1' }),
      ev({ ...anonymous, ip: '192.0.2.2' }),
      ev({ ...anonymous, ip: '192.0.2.2', userAgent: 'Thunderbird/128.0' }),
    ];
    expect((await summarize(SEND_ID, 1, events)).all).toMatchObject({ clicks: 4, uniqueClicks: 3 });
  });

  it('machine events count in "all" only: totals, unique people and links', async () => {
    const events = [
      machine({ recipient: 'ann@mail.example', url: 'https://shop.example/scanned-only' }),
      machine({ recipient: 'ann@mail.example' }),
      ev({ recipient: 'bob@mail.example' }),
      machine({ type: 'open', recipient: 'cay@mail.example', machineReason: 'apple-mpp' }),
      ev({ type: 'open', recipient: 'bob@mail.example' }),
    ];
    const r = await summarize(SEND_ID, 3, streamOf(events));
    expect(r.all).toMatchObject({ clicks: 3, uniqueClicks: 2, opens: 2, uniqueOpens: 2 });
    expect(r.human).toMatchObject({ clicks: 1, uniqueClicks: 1, opens: 1, uniqueOpens: 1 });
    expect(r.all.links.map((l) => l.url).sort()).toEqual(['https://shop.example/sale', 'https://shop.example/scanned-only']);
    expect(r.human.links).toEqual([{ url: 'https://shop.example/sale', linkName: '', clicks: 1, uniqueClicks: 1 }]);
  });

  it('groups clicks per link by URL up to "?" and link name, with unique people per link', async () => {
    const events = [
      ev({ recipient: 'ann@mail.example', url: 'https://shop.example/p?sku=1&e=ann', linkName: 'product' }),
      ev({ recipient: 'bob@mail.example', url: 'https://shop.example/p?sku=1&e=bob', linkName: 'product' }),
      ev({ recipient: 'bob@mail.example', url: 'https://shop.example/p', linkName: 'product' }),
      ev({ recipient: 'ann@mail.example', url: 'https://shop.example/p?sku=1', linkName: 'footer' }),
      ev({ recipient: 'ann@mail.example', url: 'https://shop.example/q?x=1', linkName: '' }),
      ev({ type: 'open', url: '' }),
    ];
    const r = await summarize(SEND_ID, 2, events);
    const byKey = Object.fromEntries(r.all.links.map((l) => [`${l.url} ${l.linkName}`, { clicks: l.clicks, uniqueClicks: l.uniqueClicks }]));
    expect(byKey).toEqual({
      'https://shop.example/p product': { clicks: 3, uniqueClicks: 2 },
      'https://shop.example/p footer': { clicks: 1, uniqueClicks: 1 },
      'https://shop.example/q ': { clicks: 1, uniqueClicks: 1 },
    });
  });

  it('counts bounces, complaints and unsubscribes, and an empty send is all zeros', async () => {
    const r = await summarize(SEND_ID, 2, [
      ev({ type: 'bounce', url: '' }),
      ev({ type: 'bounce', url: '' }),
      ev({ type: 'complaint', url: '' }),
      ev({ type: 'unsubscribe', url: '' }),
      machine({ type: 'unsubscribe', url: '' }),
    ]);
    expect(r.all).toMatchObject({ bounces: 2, complaints: 1, unsubscribes: 2, clicks: 0, opens: 0, links: [] });
    expect(r.human.unsubscribes).toBe(1);
    const empty = await summarize('nothing', 0, []);
    expect(empty.all).toEqual({ opens: 0, uniqueOpens: 0, clicks: 0, uniqueClicks: 0, bounces: 0, complaints: 0, unsubscribes: 0, links: [] });
    expect(empty.human).toEqual(empty.all);
  });
});

describe('formatReport', () => {
  /** "label  all  humans  machines" rows of the text report, by label. */
  /** "label  all  humans  machines" rows of the text report (unique rows have no machines), by label. */
  function countRows(text: string): Map<string, number[]> {
    const rows = new Map<string, number[]>();
    for (const line of text.split('\n')) {
      const m = /^([a-z][a-z ]*?)\s+(\d+)\s+(\d+)(?:\s+(\d+))?$/.exec(line);
      if (m && m[1] !== 'burst' && !line.startsWith('apple'))
        rows.set(
          m[1]!,
          m
            .slice(2)
            .filter((x) => x !== undefined)
            .map(Number),
        );
    }
    return rows;
  }

  it('shows the send, its messages, every count with and without machines, and every link', async () => {
    const report: SendReport = await summarize(SEND_ID, 7, [
      ev({ recipient: 'ann@mail.example', url: 'https://shop.example/p?sku=1', linkName: 'product' }),
      machine({ recipient: 'bob@mail.example', url: 'https://shop.example/p?sku=2', linkName: 'product' }),
      machine({ recipient: 'bob@mail.example', url: 'https://shop.example/terms' }),
      ev({ type: 'open', recipient: 'ann@mail.example', url: '' }),
      ev({ type: 'bounce', recipient: 'cay@mail.example', url: '' }),
    ]);
    const text = formatReport(report);
    expect(text).toContain(SEND_ID);
    expect(text).toMatch(/\b7 messages\b/);
    const rows = countRows(text);
    expect(Object.fromEntries(rows)).toEqual({
      opens: [1, 1, 0],
      'unique opens': [1, 1],
      clicks: [3, 1, 2],
      'unique clicks': [2, 1],
      bounces: [1, 1, 0],
      complaints: [0, 0, 0],
      unsubscribes: [0, 0, 0],
    });
    const linkLines = text.split('\n').filter((line) => line.includes('https://'));
    expect(linkLines).toHaveLength(2);
    const product = linkLines.find((line) => line.includes('https://shop.example/p'))!;
    expect(product).toContain('product');
    expect(product).not.toContain('?');
    expect(product).toMatch(/\b2 \/ 1 \/ 1, 1\b/); // clicks: all / humans / machines, unique humans
    const terms = linkLines.find((line) => line.includes('https://shop.example/terms'))!;
    expect(terms).toMatch(/\b1 \/ 0 \/ 1, 0\b/); // machines only
  });

  it('counts machine opens and clicks by reason, an event under each of its reasons', async () => {
    const report = await summarize(SEND_ID, 2, [
      machine({ machineReason: 'range:proofpoint,burst' }),
      machine({ machineReason: 'burst', url: 'https://shop.example/terms' }),
      machine({ type: 'open', url: '', machineReason: 'apple-mpp' }),
      ev({ type: 'open', url: '', userAgent: 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)' }),
    ]);
    expect(Object.fromEntries(machineEventsByReason(report.machineReasons))).toEqual({
      'apple-mpp': { open: 1 },
      'range:proofpoint': { click: 1 },
      burst: { click: 2 },
    });
    const lines = formatReport(report).split('\n');
    expect(lines.find((l) => l.startsWith('burst'))).toMatch(/^burst\s+0\s+2$/);
    expect(lines.find((l) => l.startsWith('apple-mpp'))).toMatch(/^apple-mpp\s+1\s+0$/);
  });

  it('a send without clicks has no link section', async () => {
    const text = formatReport(await summarize('', 0, []));
    expect(text).toContain('""');
    expect(text.split('\n').filter((line) => line.includes('://'))).toEqual([]);
  });
});

describe('event export lines', () => {
  const awkward = ev({
    url: 'https://shop.example/p?a=1,2&q="x"',
    linkName: 'line one\r\nline two\nthree',
    userAgent: 'Agent "quoted", with comma',
    recipient: '=HYPERLINK("https://evil.example","click")',
    emailCode: '+SUM(1,2)',
    listId: '-2+3',
    ip: '2001:db8::1',
    machine: true,
    machineReason: '@import,head',
    position: 12,
    part: 't',
  });

  it('JSON: one line per event, every field back as it was, id in hex and time in ISO 8601', () => {
    const line = eventJsonLine(awkward);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(/[\r\n]/);
    const back = JSON.parse(line) as Record<string, unknown>;
    expect(back).toMatchObject({
      id: Buffer.from(awkward.id).toString('hex'),
      time: awkward.time.toISOString(),
      type: 'click',
      sendId: SEND_ID,
      listId: awkward.listId,
      recipient: awkward.recipient,
      emailCode: awkward.emailCode,
      url: awkward.url,
      linkName: awkward.linkName,
      position: 12,
      part: 't',
      ip: awkward.ip,
      userAgent: awkward.userAgent,
      machine: true,
      machineReason: awkward.machineReason,
    });
  });

  it('JSON: the same object the sinks publish, for a bounce too (details as top-level fields, GreenArrow name)', () => {
    const bounce = ev({ type: 'bounce', url: '', position: 0, part: '', details: { status: '5.1.1', classification: 'hard', action: 'failed' } });
    for (const e of [awkward, bounce, ev({})]) expect(JSON.parse(eventJsonLine(e))).toEqual(toEventJson(e));
    expect(JSON.parse(eventJsonLine(bounce))).toMatchObject({
      greenarrowType: 'bounce_bad_address',
      status: '5.1.1',
      classification: 'hard',
      action: 'failed',
    });
    expect(JSON.parse(eventJsonLine(bounce))).not.toHaveProperty('details');
    expect(JSON.parse(eventJsonLine(ev({})))).not.toHaveProperty('machineReason');
  });

  it('CSV: commas, quotes and line breaks survive quoting; the header names every column of the row', () => {
    const rows = parseCsv(CSV_HEADER + eventCsvLine(awkward) + eventCsvLine(ev({})));
    expect(rows).toHaveLength(3);
    const [header, row, plain] = rows as [string[], string[], string[]];
    expect(row).toHaveLength(header.length);
    expect(plain).toHaveLength(header.length);
    const field = (r: string[], name: string): string => {
      const col = header.indexOf(name);
      if (col < 0) throw new Error(`no ${name} column in ${header.join(',')}`);
      return r[col]!;
    };
    expect(field(row, 'url')).toBe(awkward.url);
    expect(field(row, 'linkName')).toBe(awkward.linkName);
    expect(field(row, 'userAgent')).toBe(awkward.userAgent);
    expect(field(row, 'ip')).toBe(awkward.ip);
    expect(field(row, 'position')).toBe('12');
    expect(field(row, 'machine')).toBe('true');
    expect(field(row, 'sendId')).toBe(SEND_ID);
    expect(field(plain, 'machine')).toBe('false');
    expect(field(plain, 'url')).toBe('https://shop.example/sale');
    expect(field(plain, 'greenarrowType')).toBe('engine_click');
    const [, bounceRow] = parseCsv(CSV_HEADER + eventCsvLine(ev({ type: 'bounce', details: { classification: 'hard', status: '5.1.1' } }))) as [
      string[],
      string[],
    ];
    expect(field(bounceRow, 'greenarrowType')).toBe('bounce_bad_address');
    expect(JSON.parse(field(bounceRow, 'details'))).toEqual({ classification: 'hard', status: '5.1.1' });
  });

  it('CSV: a field starting with = + - @ (or a tab or CR) cannot become a spreadsheet formula, and keeps its text', () => {
    const formulas = ['=1+1', '+cmd|" /C calc"!A0', '-2+3', '@SUM(A1:A2)', '\t=1', '\r=1'];
    for (const formula of formulas) {
      const [header, row] = parseCsv(CSV_HEADER + eventCsvLine(ev({ recipient: formula, userAgent: formula }))) as [string[], string[]];
      for (const name of ['recipient', 'userAgent']) {
        const value = row[header.indexOf(name)]!;
        expect(value, JSON.stringify(formula)).not.toMatch(/^[=+\-@\t\r]/);
        expect(value.endsWith(formula), JSON.stringify(formula)).toBe(true);
        expect(value.length - formula.length, JSON.stringify(formula)).toBe(1);
      }
    }
    const [header, row] = parseCsv(CSV_HEADER + eventCsvLine(awkward)) as [string[], string[]];
    for (const name of ['recipient', 'emailCode', 'listId', 'machineReason']) expect(row[header.indexOf(name)], name).not.toMatch(/^[=+\-@]/);
  });
});

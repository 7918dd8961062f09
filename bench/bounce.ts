/**
 * Main-thread time of reading a bounce or complaint report, by size: the bounce reader runs on the
 * main thread (unlike the tracking work), so this says what a large report costs every click
 * waiting behind it. A DSN and an ARF complaint from test/bounce/fixtures, their returned message
 * padded with HTML to each size; median of BENCH_ROUNDS=5.
 *
 *   tsx bench/bounce.ts
 */
import os from 'node:os';
import { parseReport } from '../src/bounce/index.js';
import { fixtureWithHeader, identity, keyringFor } from '../test/bounce/helpers.js';
import { bigHtmlBody } from '../test/helpers/big-html.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = [100_000, 1_000_000, 10_000_000];
const keyring = keyringFor('ours');

function padded(name: string, bytes: number): Buffer {
  const base = fixtureWithHeader(name, identity('rcpt@example.net'), keyring).toString('latin1');
  const eol = base.includes('\r\n') ? '\r\n' : '\n';
  // Before the report's closing boundary: the returned message grows, as a full bounce of a big one does.
  const last = base.lastIndexOf('\n--');
  return Buffer.from(base.slice(0, last) + eol + bigHtmlBody(bytes, Math.round(bytes / 10_000)).replace(/\n/g, eol) + base.slice(last), 'latin1');
}

const rows: Array<Record<string, string>> = [];
for (const name of ['postfix-dsn.eml', 'arf-complaint.eml']) {
  for (const bytes of SIZES) {
    const raw = padded(name, bytes);
    const times: number[] = [];
    let kind = '';
    for (let i = 0; i < ROUNDS; i += 1) {
      const started = performance.now();
      kind = parseReport(raw, keyring).kind;
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    rows.push({ report: name, bytes: String(raw.length), read: kind, 'median ms': times[Math.floor(times.length / 2)]!.toFixed(1) });
  }
}
console.log(
  `${os.cpus().length} CPUs, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.table(rows);

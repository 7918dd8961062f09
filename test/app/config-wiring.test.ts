// Options whose effect cannot be seen in a response, only in how the daemon gets there: the config
// file must reach the parts they tune. A daemon on the defaults and one with them changed take the
// same traffic (a message, the same link clicked twice, one POST); /metrics shows the difference.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, DaemonProcess, TempDirs } from './helpers/processes.js';
import { buildNewsletter, pairClicks, readRewritten } from './helpers/newsletter.js';
import { browse, rawExchange, sendThroughMilter } from './helpers/traffic.js';

/** Every sample of one metric, keyed by its label text (`{a="b"}`, or '' without labels). */
function samples(metricsText: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of metricsText.split('\n')) {
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) found.set(match[2] ?? '', Number(match[3]));
  }
  return found;
}

/** A message through the milter, its first link clicked twice, a POST to a click path; then /metrics. */
async function trafficThenMetrics(daemon: DaemonProcess): Promise<string> {
  const message = buildNewsletter();
  const result = await sendThroughMilter(daemon.milterPort, message);
  if (!result.body) throw new Error(`no body from the milter (verdict ${result.verdict}); ${daemon.diagnostics()}`);
  const [click] = pairClicks(readRewritten(result.body, daemon.baseUrl), message.spec);
  for (let k = 0; k < 2; k += 1) expect((await browse(click!.link)).status).toBe(302);
  const post = `POST /c/AAAA HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
  expect((await rawExchange(daemon.httpPort, post)).headLines[0]).toMatch(/^HTTP\/1\.1 405 /);
  return (await browse(`${daemon.baseUrl}/metrics`)).body.toString('utf8');
}

describe.skipIf(!CLI_BUILT)('options that tune the daemon reach it from the config file', () => {
  const dirs = new TempDirs();
  let onDefaults: string;
  let configured: string;

  beforeAll(async () => {
    const runs: Array<[string | undefined, (text: string) => void]> = [
      [undefined, (text) => (onDefaults = text)],
      ['[http]\nfast_front = false\n\n[store]\nread_cache_entries = 0\n', (text) => (configured = text)],
    ];
    for (const [configToml, keep] of runs) {
      const daemon = await DaemonProcess.start({ role: 'serve', dataDir: path.join(await dirs.make(), 'data'), ...(configToml ? { configToml } : {}) });
      try {
        keep(await trafficThenMetrics(daemon));
      } finally {
        await daemon.stop();
      }
    }
  }, 60_000);
  afterAll(async () => {
    await dirs.cleanup();
  });

  it('store.read_cache_entries: on the default both clicks find the row and message the milter wrote in memory; at 0 both read LevelDB', () => {
    const lookups = (text: string, cache: string, result: string): number | undefined =>
      samples(text, 'trackmilter_store_read_cache_lookups_total').get(`{cache="${cache}",result="${result}"}`);
    expect(lookups(onDefaults, 'rows', 'miss')).toBe(0);
    expect(lookups(onDefaults, 'rows', 'hit')).toBe(2);
    expect(lookups(onDefaults, 'messages', 'miss')).toBe(0);
    expect(lookups(onDefaults, 'messages', 'hit')).toBe(2);
    // Every row of the message (its links' and the open row) and the message itself.
    expect(samples(onDefaults, 'trackmilter_store_read_cache_entries').get('{cache="rows"}')).toBeGreaterThan(2);
    expect(samples(onDefaults, 'trackmilter_store_read_cache_entries').get('{cache="messages"}')).toBe(1);
    expect(lookups(configured, 'rows', 'miss')).toBe(2);
    expect(lookups(configured, 'rows', 'hit')).toBe(0);
    expect(samples(configured, 'trackmilter_store_read_cache_entries').get('{cache="rows"}')).toBe(0);
  });

  it('http.fast_front: on the default the POST is handed from the fast front to node:http; with false nothing is (node:http has it all)', () => {
    expect(samples(onDefaults, 'trackmilter_http_handed_to_node_total').get('{reason="unread_head"}')).toBe(1);
    expect(samples(configured, 'trackmilter_http_handed_to_node_total').size).toBe(0);
    // both answered the clicks and the POST: the option changes who answers, not what
    for (const text of [onDefaults, configured]) expect(samples(text, 'trackmilter_http_requests_total').get('{route="click",status="302"}')).toBe(2);
  });
});

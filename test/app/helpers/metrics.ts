// Reading a daemon's /metrics as a test does: one metric's samples by their label text.
import { browse } from './traffic.js';

/** Every sample of one metric, keyed by its label text (`{a="b"}`, or '' without labels). */
export function metricSamples(metricsText: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of metricsText.split('\n')) {
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) found.set(match[2] ?? '', Number(match[3]));
  }
  return found;
}

/** One sample of a daemon's metric, now. */
export async function scrape(baseUrl: string, name: string, labels = ''): Promise<number | undefined> {
  const text = (await browse(`${baseUrl}/metrics`)).body.toString('utf8');
  return metricSamples(text, name).get(labels);
}

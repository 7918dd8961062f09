// A send's report as every reader gets it (report --json, the admin API, the dashboard): from the
// store's running aggregates, so a big send costs a few reads rather than a scan of its events.
import type { TrackStore } from '../store/index.js';
import { reportFromAggregates, type SendReport } from './report.js';

export async function sendReport(store: TrackStore, sendId: string): Promise<SendReport> {
  const [totals, links] = await Promise.all([store.aggregates.totals(sendId), store.aggregates.links(sendId)]);
  return reportFromAggregates(sendId, totals, links);
}

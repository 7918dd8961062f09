// Opens and clicks of a send over time, from the store's time buckets: the first hours in minutes,
// then hours, then days (UTC), so a chart shows the opening rush and the long tail alike.
import { BUCKET_FIELDS, type Bucket, type Granularity, type SendTotals } from '../store/send-aggregates.js';

export interface SeriesPoint {
  startMs: number;
  granularity: 'minute' | 'hour' | 'day';
  humanOpens: number;
  machineOpens: number;
  humanClicks: number;
  machineClicks: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Minutes for this long after the first message or event, then hours until MINUTE_SPAN + HOUR_SPAN. */
export const MINUTE_SPAN_MS = 6 * HOUR;
export const HOUR_SPAN_MS = 66 * HOUR;

type BucketReader = (granularity: Granularity, fromMs: number, toMs: number) => Promise<Bucket[]>;

const at = (b: Bucket, field: (typeof BUCKET_FIELDS)[number]): number => b.counts[BUCKET_FIELDS.indexOf(field)] ?? 0;

function point(startMs: number, granularity: SeriesPoint['granularity'], buckets: Bucket[]): SeriesPoint {
  const sum = (field: (typeof BUCKET_FIELDS)[number]): number => buckets.reduce((n, b) => n + at(b, field), 0);
  return {
    startMs,
    granularity,
    humanOpens: sum('humanOpens'),
    machineOpens: sum('machineOpens'),
    humanClicks: sum('humanClicks'),
    machineClicks: sum('machineClicks'),
  };
}

export async function sendSeries(totals: SendTotals | undefined, read: BucketReader): Promise<SeriesPoint[]> {
  if (!totals) return [];
  const start = Math.floor(totals.firstMs / MINUTE) * MINUTE;
  const end = totals.lastMs + 1;
  const minutesEnd = Math.ceil((start + MINUTE_SPAN_MS) / HOUR) * HOUR;
  const hoursEnd = Math.ceil((minutesEnd + HOUR_SPAN_MS) / DAY) * DAY;
  const [minutes, hours, tail] = await Promise.all([
    read('minute', start, Math.min(minutesEnd, end)),
    end > minutesEnd ? read('hour', minutesEnd, Math.min(hoursEnd, end)) : [],
    end > hoursEnd ? read('hour', hoursEnd, end) : [],
  ]);
  const days = new Map<number, Bucket[]>();
  for (const b of tail) {
    const day = Math.floor(b.startMs / DAY) * DAY;
    const list = days.get(day);
    if (list) list.push(b);
    else days.set(day, [b]);
  }
  return [
    ...minutes.map((b) => point(b.startMs, 'minute', [b])),
    ...hours.map((b) => point(b.startMs, 'hour', [b])),
    ...[...days].map(([day, buckets]) => point(day, 'day', buckets)),
  ];
}

/** Small pieces the benches share: integer settings from the environment, medians and ratios of rounds. */

/** An integer environment variable (BENCH_COUNT, ...), `fallback` when unset or empty. */
export function envInt(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${raw}`);
  return value;
}

/** The median (the mean of the two middle values for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Each round's value over the reference measured in the same round. The VM drifts by up to a third
 * between minutes, and the setups of one round run close together, so a slow spell moves both sides.
 */
export function ratiosByRound(values: readonly number[], references: readonly number[]): number[] {
  return values.map((value, round) => value / (references[round] ?? NaN));
}

/** Ratios of rounds as the benches print them: each to two places, then their median. */
export function roundRatiosText(ratios: readonly number[]): string {
  return `${ratios.map((r) => r.toFixed(2)).join(', ')}; their median ${median([...ratios]).toFixed(2)}`;
}

/**
 * Figures of a stress run: printed as a two-column table and written as JSON to stress/out/NAME.json,
 * so a run leaves a record that can be compared with the next one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type FigureValue = string | number | boolean | null | readonly number[] | readonly string[];
export type Figures = Record<string, FigureValue>;

export const OUT_DIR = fileURLToPath(new URL('../out/', import.meta.url));

function show(value: FigureValue): string {
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'number' && !Number.isInteger(value)) return value.toFixed(2);
  return String(value);
}

export function formatTable(title: string, figures: Figures): string {
  const width = Math.max(...Object.keys(figures).map((key) => key.length));
  const rows = Object.entries(figures).map(([key, value]) => `  ${key.padEnd(width)}  ${show(value)}`);
  return [`== ${title}`, ...rows].join('\n');
}

/** Prints the figures and writes them to stress/out/<name>.json (with the time of the run). */
export async function publishFigures(name: string, title: string, figures: Figures): Promise<string> {
  console.log(formatTable(title, figures));
  await fs.mkdir(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${name}.json`);
  await fs.writeFile(file, JSON.stringify({ name, title, at: new Date().toISOString(), figures }, null, 2) + '\n');
  return file;
}

/** The q-quantile (0..1) of a list of numbers, nearest rank; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

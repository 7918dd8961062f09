/**
 * Figures of a fuzz run, findings saved to disk, and the JSON report.
 * A finding's input goes to fuzz/out/findings/<target>-seed<S>-case<N>-<kind>.bin with a .json beside
 * it (label, message, details); `tsx fuzz/run.ts TARGET --seed S --case N` replays it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FuzzCase, ProblemKind } from './target.js';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(PROJECT_ROOT, 'fuzz', 'out');
export const FINDINGS_DIR = join(OUT_DIR, 'findings');

/** At most this many findings with the same first line of message are saved (the rest are counted). */
const SAVED_PER_SIGNATURE = 3;

export interface FindingRecord {
  kind: ProblemKind;
  caseIndex: number;
  label: string;
  message: string;
  /** Saved input, relative to the project root; absent when an identical signature was saved already. */
  file?: string;
}

export interface TargetReport {
  target: string;
  seed: number;
  /** The first case index run (non-zero when a run resumes). */
  firstCase: number;
  secondsBudget: number;
  elapsedMs: number;
  inputsTried: number;
  crashes: number;
  hangs: number;
  violations: number;
  /** Worker processes restarted after a hang or a crash. */
  restarts: number;
  counters: Record<string, number>;
  notes: string[];
  findings: FindingRecord[];
  /** The command that replays this run. */
  reproduce: string;
}

export function emptyReport(target: string, seed: number, secondsBudget: number): TargetReport {
  return {
    target,
    seed,
    firstCase: 0,
    secondsBudget,
    elapsedMs: 0,
    inputsTried: 0,
    crashes: 0,
    hangs: 0,
    violations: 0,
    restarts: 0,
    counters: {},
    notes: [],
    findings: [],
    reproduce: `npx tsx fuzz/run.ts ${target} --seed ${seed} --seconds ${secondsBudget}`,
  };
}

function signature(kind: ProblemKind, message: string): string {
  return `${kind}:${message.split('\n')[0]!.slice(0, 160)}`;
}

/** Adds a finding to the report, saving its input unless enough of the same kind are saved already. */
export function recordFinding(
  report: TargetReport,
  kind: ProblemKind,
  caseIndex: number,
  testCase: FuzzCase,
  message: string,
  hasInput: boolean,
): FindingRecord {
  if (kind === 'crash') report.crashes++;
  else if (kind === 'hang') report.hangs++;
  else report.violations++;
  const sig = signature(kind, message);
  const same = report.findings.filter((f) => signature(f.kind, f.message) === sig).length;
  const record: FindingRecord = { kind, caseIndex, label: testCase.label, message: message.slice(0, 4000) };
  if (hasInput && same < SAVED_PER_SIGNATURE) record.file = saveInput(report.target, report.seed, caseIndex, kind, testCase, message);
  if (same < 20) report.findings.push(record);
  return record;
}

function saveInput(target: string, seed: number, caseIndex: number, kind: ProblemKind, testCase: FuzzCase, message: string): string {
  mkdirSync(FINDINGS_DIR, { recursive: true });
  const base = join(FINDINGS_DIR, `${target}-seed${seed}-case${caseIndex}-${kind}`);
  writeFileSync(`${base}.bin`, testCase.input);
  const meta = { target, seed, caseIndex, kind, label: testCase.label, message, details: testCase.details ?? {} };
  writeFileSync(`${base}.json`, `${JSON.stringify(meta, null, 2)}\n`);
  return relative(PROJECT_ROOT, `${base}.bin`);
}

export function failureCount(report: TargetReport): number {
  return report.crashes + report.hangs + report.violations;
}

export function summaryLine(report: TargetReport): string {
  const extra = Object.entries(report.counters)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return (
    `${report.target}: seed ${report.seed}, ${report.inputsTried} inputs in ${(report.elapsedMs / 1000).toFixed(1)} s, ` +
    `crashes ${report.crashes}, hangs ${report.hangs}, violations ${report.violations}` +
    (report.restarts ? `, worker restarts ${report.restarts}` : '') +
    (extra ? ` [${extra}]` : '')
  );
}

export function writeReport(file: string, reports: TargetReport[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const body = reports.length === 1 ? reports[0] : { targets: reports };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
}

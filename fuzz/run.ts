/**
 * The fuzz runner.
 *
 *   tsx fuzz/run.ts TARGET|all [--seconds N] [--cases N] [--seed S] [--out FILE]
 *   tsx fuzz/run.ts TARGET --seed S --case N      replay one case in this process and print what it finds
 *
 * --cases stops after that many cases (the seconds still cap the run): with a seed, the same cases on
 * any machine, where a time budget alone tries more of them on a faster one.
 *
 * Targets: milter, mime, tokens, redirector (needs `npm run build`), bounce. Prints and writes the figures
 * (JSON, default fuzz/out/TARGET.json); a finding saves its input under fuzz/out/findings/ and the exit
 * status is 1. With `all`, the seconds are per target.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { caseRng, randomSeed } from './random.js';
import { failureCount, OUT_DIR, summaryLine, writeReport, type TargetReport } from './report.js';
import { supervise } from './supervisor.js';
import { isTargetName, loadTarget, TARGET_NAMES } from './targets/index.js';
import type { TargetContext } from './target.js';

const USAGE = `Usage: tsx fuzz/run.ts TARGET|all [--seconds N] [--cases N] [--seed S] [--out FILE] [--case N]
Targets: ${TARGET_NAMES.join(', ')}, all`;

async function replayCase(name: string, seed: number, index: number): Promise<number> {
  const ctx: TargetContext = { count: () => undefined, note: (text) => console.log(`note: ${text}`) };
  const session = await (await loadTarget(name)).start(ctx);
  try {
    const testCase = session.generate(caseRng(seed, index), index);
    console.log(`case ${index} (seed ${seed}): ${testCase.label} [${testCase.input.length} bytes]`);
    const started = Date.now();
    const problems = await session.execute(testCase, ctx);
    console.log(`ran in ${Date.now() - started} ms`);
    for (const p of problems) console.log(`${p.kind}: ${p.message}`);
    if (problems.length === 0) console.log('no problem');
    return problems.length === 0 ? 0 : 1;
  } finally {
    await session.close();
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '60' },
      cases: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      case: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const which = positionals[0];
  if (values.help || !which || (which !== 'all' && !isTargetName(which))) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const seed = values.seed === undefined ? randomSeed() : Number(values.seed);
  const seconds = Number(values.seconds);
  const maxCases = values.cases === undefined ? undefined : Number(values.cases);
  if (!Number.isInteger(seed) || seed < 0 || !(seconds > 0) || (maxCases !== undefined && !(Number.isInteger(maxCases) && maxCases > 0))) {
    console.log(USAGE);
    return 2;
  }
  if (values.case !== undefined) {
    if (which === 'all') throw new Error('--case needs one target');
    return replayCase(which, seed, Number(values.case));
  }
  const names = which === 'all' ? [...TARGET_NAMES] : [which];
  const reports: TargetReport[] = [];
  for (const name of names) {
    console.log(`fuzzing ${name} for ${maxCases === undefined ? '' : `${maxCases} cases or `}${seconds} s with seed ${seed}`);
    const report = await supervise({ target: name, seed, seconds, ...(maxCases === undefined ? {} : { maxCases }) });
    console.log(summaryLine(report));
    for (const note of report.notes) console.log(`  note: ${note}`);
    reports.push(report);
  }
  const out = values.out ?? join(OUT_DIR, `${which}.json`);
  writeReport(out, reports);
  console.log(`figures written to ${out}`);
  const failures = reports.reduce((n, r) => n + failureCount(r), 0);
  if (failures > 0) console.log(`${failures} finding(s); inputs under fuzz/out/findings/, replay with --seed ${seed} --case N`);
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 2;
  },
);

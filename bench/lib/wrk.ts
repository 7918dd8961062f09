/**
 * wrk as the HTTP benchmarks run it: one run with --latency, its summary parsed, and a Lua script that
 * requests one of many paths at random (each thread seeding its own generator).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface WrkResult {
  requests: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non3xx: number;
  socketErrors: string | null;
}

export interface WrkOptions {
  threads: number;
  connections: number;
  seconds: number;
  /** A Lua script (-s), such as randomPathScript()'s. */
  script?: string;
  /** Header lines sent with every request (-H), besides the Host wrk sends. */
  headers?: readonly string[];
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

export function parseWrk(output: string): WrkResult {
  const number = (re: RegExp): number => Number(re.exec(output)?.[1] ?? NaN);
  const percentile = (p: string): number => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
    return match ? toMs(match[1] ?? '', match[2] ?? 'ms') : NaN;
  };
  return {
    requests: number(/(\d+) requests in/),
    requestsPerSec: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    non3xx: number(/Non-2xx or 3xx responses: (\d+)/) || 0,
    socketErrors: /Socket errors: (.*)/.exec(output)?.[1] ?? null,
  };
}

export async function wrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const scriptArgs = options.script ? ['-s', options.script] : [];
  const headerArgs = (options.headers ?? []).flatMap((line) => ['-H', line]);
  const { stdout } = await execFileAsync(
    'wrk',
    [`-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, '--latency', ...headerArgs, ...scriptArgs, url],
    { maxBuffer: 1 << 20 },
  );
  return parseWrk(stdout);
}

/** Whether wrk is installed. */
export async function hasWrk(): Promise<boolean> {
  return execFileAsync('wrk', ['--version']).then(
    () => true,
    (err: { code?: unknown }) => err.code !== 'ENOENT',
  );
}

/** A wrk script requesting one of `paths` at random, in a temp dir of its own (the caller removes it). */
export async function randomPathScript(paths: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-wrk-'));
  const file = path.join(dir, 'paths.lua');
  const lua = [
    `local paths = {${paths.map((p) => `"${p}"`).join(',')}}`,
    'local threads = 0',
    'function setup(thread) threads = threads + 1; thread:set("id", threads) end',
    'function init(args) math.randomseed(id * 7919) end',
    'function request() return wrk.format(nil, paths[math.random(#paths)]) end',
  ];
  await writeFile(file, `${lua.join('\n')}\n`);
  return file;
}

/**
 * A private PostgreSQL cluster for tests: initdb into a temporary directory, postgres on a free
 * loopback port with its unix socket in that directory, stopped and removed by stop(). As root, both
 * run as the unprivileged user `nobody` (PostgreSQL refuses root), owning the directory: spawned with
 * its uid and gid directly, so signals reach postgres itself.
 *
 * Found through PATH or Debian's /usr/lib/postgresql/<version>/bin; when neither has initdb,
 * postgresBinaries() says so and the suites using it are skipped, saying why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { findFreePort } from './net.js';

const RUN_AS = 'nobody';

/** The directory holding initdb and postgres, or a sentence saying why there is none. */
export function postgresBinaries(): { dir: string } | { missing: string } {
  const candidates: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(dir);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    for (const version of readdirSync(debian).sort().reverse()) candidates.push(path.join(debian, version, 'bin'));
  }
  for (const dir of candidates) {
    if (existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres'))) return { dir };
  }
  return { missing: 'PostgreSQL tests skipped: no initdb and postgres on PATH or under /usr/lib/postgresql (apt-get install postgresql)' };
}

export interface PostgresCluster {
  port: number;
  host: string;
  /** A connection URI for a database of this cluster. */
  url(database: string): string;
  /** A new, empty database; its name. */
  createDatabase(): Promise<string>;
  /** The postmaster's process id while the server runs (its backends are its children). */
  readonly pid: number | undefined;
  /** Stops the server (fast shutdown: sessions are ended); it can be started again with start(). */
  stopServer(): Promise<void>;
  /** Starts the server again on the same port and data; does nothing while it runs. */
  start(): Promise<void>;
  /**
   * Freezes the server and every backend (SIGSTOP): a database that still accepts TCP connections (the
   * kernel completes them) and answers nothing, as a hung host does. resume() thaws them (SIGCONT).
   */
  pause(): void;
  resume(): void;
  /** Stops the server and removes the cluster's directory. */
  stop(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** The uid and gid to run PostgreSQL as: nobody's when we are root, else our own (no option). */
function runAs(): { uid?: number; gid?: number } {
  if (!asRoot) return {};
  const uid = Number(spawnSync('id', ['-u', RUN_AS], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', RUN_AS], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

export async function startPostgres(): Promise<PostgresCluster> {
  const found = postgresBinaries();
  if ('missing' in found) throw new Error(found.missing);
  const base = mkdtempSync(path.join(tmpdir(), 'trackmilter-pg-'));
  const user = runAs();
  if (user.uid !== undefined && user.gid !== undefined) chownSync(base, user.uid, user.gid);
  const data = path.join(base, 'data');
  const init = spawnSync(path.join(found.dir, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
    encoding: 'utf8',
    cwd: base,
    ...user,
  });
  if (init.status !== 0) {
    rmSync(base, { recursive: true, force: true });
    throw new Error(`initdb failed (${String(init.status)}): ${init.stderr}${init.stdout}`);
  }
  const port = await findFreePort();
  const host = '127.0.0.1';
  let server: ChildProcess | undefined;
  let log = '';
  let dbCounter = 0;

  const start = async (): Promise<void> => {
    // Already running: nothing to do (a second postmaster on the same directory would exit at once).
    if (server && server.exitCode === null) return;
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      base,
      '-c',
      `listen_addresses=${host}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=16MB',
    ];
    const child = spawn(path.join(found.dir, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: base, ...user });
    server = child;
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${log}`);
      const client = new pg.Client({ host, port, user: 'postgres', database: 'postgres' });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${log}`);
        await sleep(100);
      }
    }
  };

  const stopServer = async (): Promise<void> => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    // A frozen server would not act on SIGINT.
    if (paused) for (const pid of [child.pid!, ...childrenOf(child.pid!)]) process.kill(pid, 'SIGCONT');
    paused = false;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // SIGINT: a fast shutdown, sessions ended.
    child.kill('SIGINT');
    await exited;
  };

  /** The postmaster and its children (backends, background workers). */
  const serverPids = (): number[] => {
    const root = server?.pid;
    if (root === undefined || server?.exitCode !== null) throw new Error('postgres is not running');
    return [root, ...childrenOf(root)];
  };
  let paused = false;
  const signalAll = (signal: NodeJS.Signals): void => {
    for (const pid of serverPids()) process.kill(pid, signal);
    paused = signal === 'SIGSTOP';
  };

  await start();
  const url = (database: string): string => `postgres://postgres@${host}:${port}/${database}`;
  return {
    port,
    host,
    url,
    get pid() {
      return server?.exitCode === null ? server.pid : undefined;
    },
    async createDatabase() {
      dbCounter += 1;
      const name = `t${process.pid}_${dbCounter}`;
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return name;
    },
    stopServer,
    start,
    pause: () => signalAll('SIGSTOP'),
    resume: () => signalAll('SIGCONT'),
    async stop() {
      await stopServer();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** The processes whose parent is `parent`, from /proc (Linux). */
function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // Fields after the command name (which may hold spaces) in parentheses: state, ppid, ...
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}

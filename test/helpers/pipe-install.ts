/**
 * The built CLI where Postfix's pipe(8) can run it. pipe runs its command as an unprivileged user
 * (never root), and that user cannot reach a checkout below a directory it may not traverse: a root
 * user's clone in /root (mode 0700) left `trackmilter bounce` unrun and the bounce test waiting for an
 * event that never came. So the pipe gets what `npm install` would put in place (package.json, dist/
 * and the production dependencies of package-lock.json), copied to a fresh directory in the system's
 * temp dir that everyone may read; node itself too, when that user cannot run it where it is. A wrapper
 * script would not do: it would still run the code from the checkout.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './postfix-lab.js';

export interface PipeInstall {
  dir: string;
  /** The node binary the user can run. */
  node: string;
  /** dist/cli/main.js of the copy. */
  cli: string;
  dispose(): Promise<void>;
}

interface LockEntry {
  dev?: boolean;
}

/** The installed production dependencies, as paths relative to the project root (node_modules/...). */
async function productionPackages(): Promise<string[]> {
  const lock = JSON.parse(await fs.readFile(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  return Object.entries(lock.packages)
    .filter(([where, entry]) => where.startsWith('node_modules/') && !entry.dev && existsSync(path.join(PROJECT_ROOT, where)))
    .map(([where]) => where);
}

/** Readable (and, where the owner may, executable) by everyone, however the checkout's umask made it. */
async function openUp(target: string): Promise<void> {
  const stat = await fs.lstat(target);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    await fs.chmod(target, 0o755);
    for (const name of await fs.readdir(target)) await openUp(path.join(target, name));
    return;
  }
  await fs.chmod(target, stat.mode & 0o100 ? 0o755 : 0o644);
}

function idOf(user: string, flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, user]).toString().trim());
}

/** Whether `user` can run `node` with `args` (as root, through spawn's uid and gid). */
function runsAs(user: { uid: number; gid: number }, node: string, args: string[], cwd: string): { ok: boolean; output: string } {
  const result = spawnSync(node, args, { uid: user.uid, gid: user.gid, cwd, encoding: 'utf8', timeout: 30_000 });
  return { ok: result.status === 0, output: `${result.error?.message ?? ''}${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/**
 * Copies the CLI for `user` and checks that the user can run it (`--version`); throws, saying why,
 * when it cannot. Needs root (to run the check as that user), as the Postfix lab does.
 */
export async function installForPipeUser(user: string): Promise<PipeInstall> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-pipe-'));
  const dispose = (): Promise<void> => fs.rm(dir, { recursive: true, force: true });
  try {
    await fs.copyFile(path.join(PROJECT_ROOT, 'package.json'), path.join(dir, 'package.json'));
    await fs.cp(path.join(PROJECT_ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    for (const where of await productionPackages()) await fs.cp(path.join(PROJECT_ROOT, where), path.join(dir, where), { recursive: true });
    await openUp(dir);
    const ids = { uid: idOf(user, '-u'), gid: idOf(user, '-g') };
    let node = process.execPath;
    if (!runsAs(ids, node, ['-e', ''], dir).ok) {
      node = path.join(dir, 'node');
      await fs.copyFile(process.execPath, node);
      await fs.chmod(node, 0o755);
    }
    const cli = path.join(dir, 'dist', 'cli', 'main.js');
    const check = runsAs(ids, node, [cli, '--version'], dir);
    if (!check.ok) throw new Error(`${user} cannot run ${node} ${cli} (is ${os.tmpdir()} open to it?): ${check.output}`);
    return { dir, node, cli, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

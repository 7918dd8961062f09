/**
 * A small tmpfs to play a full disk: mounted on a fresh directory, filled with one file until the
 * kernel says ENOSPC, emptied again. Needs root; mount() says why it cannot when refused.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export class SmallTmpfs {
  private mounted = false;
  private constructor(readonly dir: string) {}

  /** Mounts a tmpfs of `size` (e.g. "2m"); resolves with the reason instead when mount is refused. */
  static async mount(size: string): Promise<SmallTmpfs | string> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-fulldisk-'));
    try {
      await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
    } catch (error) {
      await fs.rmdir(dir).catch(() => undefined);
      return `mount -t tmpfs refused: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`;
    }
    const tmpfs = new SmallTmpfs(dir);
    tmpfs.mounted = true;
    return tmpfs;
  }

  private get fillerPath(): string {
    return path.join(this.dir, 'filler');
  }

  /** Writes to a filler file until the filesystem is full; returns the bytes written. */
  async fill(): Promise<number> {
    const handle = await fs.open(this.fillerPath, 'a');
    const block = Buffer.alloc(4096, 0x78);
    let written = 0;
    try {
      for (;;) written += (await handle.write(block)).bytesWritten;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    } finally {
      await handle.close();
    }
    return written;
  }

  async free(): Promise<void> {
    await fs.rm(this.fillerPath, { force: true });
  }

  /** Unmounts (lazily, should something still hold a file) and removes the mount point. */
  async unmount(): Promise<void> {
    if (!this.mounted) return;
    this.mounted = false;
    await execFileAsync('umount', ['-l', this.dir]).catch((error: unknown) => console.error(`umount ${this.dir}: ${String(error)}`));
    await fs.rmdir(this.dir).catch(() => undefined);
  }
}

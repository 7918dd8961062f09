import { readdirSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/level/crc32c.js';
import { preflightDamage } from '../../src/level/preflight.js';
import { message, openStore, tempDir, urlRow } from '../store/fixtures.js';

describe('crc32c', () => {
  it('matches the published check values', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa); // RFC 3720 B.4
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });
});

describe('preflight of the write-ahead log', () => {
  async function storeWithBigRecords(): Promise<{ dir: string; log: string }> {
    const dir = tempDir();
    const store = await openStore(dir);
    // Records of 100 KB span several 32 KiB blocks (first/middle/last fragments).
    const recipients = Array.from({ length: 4000 }, (_, i) => `recipient-number-${i}@example.com`);
    for (let i = 0; i < 5; i++) await store.recordMessage({ ...message(i), recipients }, [urlRow('s', `https://x/${i}`)]);
    await store.close();
    const log = readdirSync(dir).find((n) => n.endsWith('.log'))!;
    return { dir, log: path.join(dir, log) };
  }

  it('passes a sound log of fragmented records', async () => {
    const { dir, log } = await storeWithBigRecords();
    expect(statSync(log).size).toBeGreaterThan(4 * 32768);
    expect(await preflightDamage(dir)).toBeUndefined();
  });

  it('treats a record cut short at the end of the log as an interrupted write, and keeps what came before', async () => {
    const { dir, log } = await storeWithBigRecords();
    truncateSync(log, statSync(log).size - 50_000);
    expect(await preflightDamage(dir)).toBeUndefined();
    const store = await openStore(dir);
    try {
      expect(await store.getMessage(message(0).id)).toBeDefined();
      expect(await store.getMessage(message(4).id)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('passes an empty or missing directory', async () => {
    expect(await preflightDamage(tempDir())).toBeUndefined();
    expect(await preflightDamage(path.join(tempDir(), 'not-there'))).toBeUndefined();
  });
});

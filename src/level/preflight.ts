/**
 * Checks a LevelDB directory before LevelDB opens it, for damage LevelDB would otherwise pass over.
 *
 * classic-level opens LevelDB without paranoid_checks (and offers no way to turn them on). Recovering
 * a write-ahead log (`*.log`) with a bad record, LevelDB then logs "dropping N bytes", writes what it
 * could read into a table and deletes the log: acknowledged records vanish with no error. And a
 * directory whose CURRENT file is gone is, to LevelDB with createIfMissing, a new empty database. So
 * before opening we read the logs the way LevelDB's log reader does and refuse to open on anything it
 * would report as corruption, leaving every file as it was.
 *
 * Log format (leveldb doc/log_format.md): 32 KiB blocks of records; a record is a 7-byte header
 * (masked CRC-32C of type+data, little-endian uint32; data length, uint16; type) then the data. A
 * record cut short at the end of the file is a writer that died mid-write, not damage: LevelDB
 * ignores it and so do we (that record was never acknowledged).
 */
import { readFile, readdir, open } from 'node:fs/promises';
import path from 'node:path';
import { crc32c, maskCrc } from './crc32c.js';

const BLOCK_SIZE = 32768;
const HEADER_SIZE = 7;
const RecordType = { Zero: 0, Full: 1, First: 2, Middle: 3, Last: 4 } as const;
/** A write batch's own header: 8-byte sequence number and 4-byte count. */
const MIN_BATCH_SIZE = 12;

/** A description of the damage found, or undefined when the directory looks sound (or is empty). */
export async function preflightDamage(dir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const hasData = names.some((n) => n.endsWith('.ldb') || n.endsWith('.sst') || n.startsWith('MANIFEST-') || n.endsWith('.log'));
  if (hasData && !names.includes('CURRENT')) {
    return 'the CURRENT file is missing although database files are present (LevelDB would start an empty database)';
  }
  if (names.includes('CURRENT')) {
    const manifest = (await readFile(path.join(dir, 'CURRENT'), 'latin1')).trim();
    // LevelDB itself reports a missing manifest as an I/O error, which hides that the store is damaged.
    if (!/^MANIFEST-\d+$/.test(manifest)) return 'the CURRENT file does not name a manifest';
    if (!names.includes(manifest)) return `CURRENT names ${manifest}, which does not exist`;
  }
  for (const name of names.filter((n) => /^\d+\.log$/.test(n)).sort()) {
    const problem = await checkLogFile(path.join(dir, name));
    if (problem) return `write-ahead log ${name}: ${problem}`;
  }
  return undefined;
}

async function checkLogFile(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const reader = new LogRecordChecker();
    const block = Buffer.alloc(BLOCK_SIZE);
    for (let offset = 0; ; offset += BLOCK_SIZE) {
      const { bytesRead } = await handle.read(block, 0, BLOCK_SIZE, offset);
      const atEnd = bytesRead < BLOCK_SIZE;
      const problem = reader.checkBlock(block.subarray(0, bytesRead), atEnd, offset);
      if (problem || atEnd) return problem;
    }
  } finally {
    await handle.close();
  }
}

/** Follows LevelDB's log::Reader: what it reports through its corruption reporter, we return. */
class LogRecordChecker {
  private inFragmentedRecord = false;
  private fragmentedSize = 0;

  checkBlock(block: Buffer, atEnd: boolean, blockOffset: number): string | undefined {
    let at = 0;
    while (block.length - at >= HEADER_SIZE) {
      const length = block.readUInt16LE(at + 4);
      const type = block[at + 6]!;
      if (HEADER_SIZE + length > block.length - at) {
        // Past the end of the file this is an interrupted write; inside the file it is damage.
        return atEnd ? undefined : `bad record length at byte ${blockOffset + at}`;
      }
      if (type === RecordType.Zero && length === 0) return undefined; // preallocated space: rest of block skipped
      const stored = block.readUInt32LE(at);
      const actual = maskCrc(crc32c(block.subarray(at + 6, at + HEADER_SIZE + length)));
      if (stored !== actual) return `checksum mismatch at byte ${blockOffset + at}`;
      const problem = this.fragment(type, length);
      if (problem) return `${problem} at byte ${blockOffset + at}`;
      at += HEADER_SIZE + length;
    }
    return undefined;
  }

  private fragment(type: number, length: number): string | undefined {
    switch (type) {
      case RecordType.Full:
        if (this.inFragmentedRecord) return 'partial record without end';
        return length < MIN_BATCH_SIZE ? 'log record too small' : undefined;
      case RecordType.First:
        if (this.inFragmentedRecord) return 'partial record without end';
        this.inFragmentedRecord = true;
        this.fragmentedSize = length;
        return undefined;
      case RecordType.Middle:
        if (!this.inFragmentedRecord) return 'missing start of fragmented record';
        this.fragmentedSize += length;
        return undefined;
      case RecordType.Last:
        if (!this.inFragmentedRecord) return 'missing start of fragmented record';
        this.inFragmentedRecord = false;
        return this.fragmentedSize + length < MIN_BATCH_SIZE ? 'log record too small' : undefined;
      default:
        return `unknown record type ${type}`;
    }
  }
}

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRangeDir, parseRangeFile, RangeTable, SHIPPED_RANGES_DIR } from '../../src/truth/address-ranges.js';

describe('address range files', () => {
  it('reads the reason, kind, source and date headers and the ranges', () => {
    const list = parseRangeFile(
      'x.txt',
      '# a comment\n# reason: range:x\n# kind: open\n# source: https://example.org/list\n# date: 2026-01-02\n\n10.0.0.0/8   # trailing note\n2001:db8::/32\n',
    );
    expect(list).toEqual({
      name: 'x.txt',
      reason: 'range:x',
      kind: 'open',
      source: 'https://example.org/list',
      date: '2026-01-02',
      entries: ['10.0.0.0/8', '2001:db8::/32'],
    });
  });

  it('refuses a bad line or a missing reason, naming the file and line', () => {
    expect(() => parseRangeFile('bad.txt', '# reason: r\n10.0.0.0/8\n10.0.0.300/8\n')).toThrow(/bad.txt line 3/);
    expect(() => parseRangeFile('bad.txt', '# reason: r\n10.0.0.0/40\n')).toThrow(/prefix length/);
    expect(() => parseRangeFile('none.txt', '10.0.0.0/8\n')).toThrow(/reason/);
    expect(() => parseRangeFile('kind.txt', '# reason: r\n# kind: both\n')).toThrow(/kind/);
  });

  it('ships every list with its source and date, and each parses', async () => {
    const names = (await readdir(SHIPPED_RANGES_DIR)).filter((n) => n.endsWith('.txt'));
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const name of names) {
      const list = parseRangeFile(name, await readFile(path.join(SHIPPED_RANGES_DIR, name), 'utf8'));
      expect(list.source, name).not.toBe('');
      expect(list.date, name).toMatch(/\d{4}-\d{2}/);
    }
    const lists = await loadRangeDir(SHIPPED_RANGES_DIR);
    const table = new RangeTable(lists);
    expect(table.reasonFor('40.107.22.5', 'click')).toBe('range:microsoft');
    expect(table.reasonFor('148.163.150.9', 'click')).toBe('range:proofpoint');
    expect(table.reasonFor('209.222.82.4', 'open')).toBe('range:barracuda');
    expect(table.reasonFor('17.58.1.2', 'open')).toBe('apple-mpp');
    // MPP ranges mean something on opens only: a click from there is a person behind Private Relay
    expect(table.reasonFor('17.58.1.2', 'click')).toBeUndefined();
    expect(table.reasonFor('198.51.100.7', 'click')).toBeUndefined();
  });

  it('says which directory it cannot read', async () => {
    await expect(loadRangeDir('/nonexistent/ranges')).rejects.toThrow(/\/nonexistent\/ranges/);
  });
});

// Every coded error comes from a module's registry, and every registered code is in the README's
// error table with what to do about it (and the table names no code that no longer exists).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Code -> the registries (errors.ts files) that declare it. */
async function registeredCodes(): Promise<Map<string, string[]>> {
  const codes = new Map<string, string[]>();
  for (const file of sourceFiles(SRC).filter((f) => path.basename(f) === 'errors.ts')) {
    const mod = (await import(file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (!name.endsWith('ErrorCode') || typeof value !== 'object' || value === null) continue;
      for (const code of Object.values(value) as string[]) codes.set(code, [...(codes.get(code) ?? []), path.relative(SRC, file)]);
    }
  }
  return codes;
}

describe('error codes', () => {
  it('are thrown only through a registry: no CodedError built from a string literal', () => {
    const literal = /\b(?:new CodedError|super)\(\s*['"`]/;
    const offenders = sourceFiles(SRC).filter((f) => literal.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => path.relative(SRC, f))).toEqual([]);
  });

  it('each appear in one registry only, and all in the README table, which lists no other', async () => {
    const codes = await registeredCodes();
    expect(codes.size).toBeGreaterThan(30);
    expect(
      [...codes].filter(([, files]) => files.length > 1),
      'declared in two registries',
    ).toEqual([]);
    const readme = readFileSync(path.resolve(SRC, '../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('## Threat model'));
    const tableRows = section.split('\n').filter((line) => line.startsWith('| `'));
    const listed = new Set(tableRows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`(E[A-Z_]+)`/g)].map((m) => m[1]!)));
    expect(
      [...codes.keys()].filter((code) => !listed.has(code)),
      'registered but not in the README',
    ).toEqual([]);
    expect(
      [...listed].filter((code) => !codes.has(code)),
      'in the README but in no registry',
    ).toEqual([]);
  });
});

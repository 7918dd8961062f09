import { describe, expect, it } from 'vitest';
import { daemonV8Flags } from '../../src/cli/v8-flags.js';

describe('daemon V8 flags', () => {
  it('turns the memory reducer off by default', () => {
    expect(daemonV8Flags([], undefined)).toEqual(['--no-memory-reducer']);
    expect(daemonV8Flags(['--enable-source-maps'], '--max-old-space-size=512')).toEqual(['--no-memory-reducer']);
  });

  it('leaves it as the user chose, on the command line or in NODE_OPTIONS', () => {
    expect(daemonV8Flags(['--memory-reducer'], undefined)).toEqual([]);
    expect(daemonV8Flags([], '--max-old-space-size=512 --memory_reducer')).toEqual([]);
    expect(daemonV8Flags(['--no-memory-reducer'], '')).toEqual([]);
  });
});

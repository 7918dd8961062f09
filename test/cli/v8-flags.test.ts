import { describe, expect, it } from 'vitest';
import { daemonV8Flags } from '../../src/cli/v8-flags.js';

describe('daemon V8 flags', () => {
  it('turns the memory reducer off and lets the old generation grow to twice its live size', () => {
    expect(daemonV8Flags([])).toEqual(['--no-memory-reducer', '--heap-growing-percent=100']);
    expect(daemonV8Flags(['--enable-source-maps', '--max-old-space-size=512'])).toEqual(['--no-memory-reducer', '--heap-growing-percent=100']);
  });

  it("leaves the memory reducer as the user chose on node's command line", () => {
    expect(daemonV8Flags(['--memory-reducer'])).toEqual(['--heap-growing-percent=100']);
    expect(daemonV8Flags(['--memory_reducer'])).toEqual(['--heap-growing-percent=100']);
    expect(daemonV8Flags(['--no-memory-reducer'])).toEqual(['--heap-growing-percent=100']);
  });

  it('leaves the heap growing factor as the user chose, V8 default (0) included', () => {
    expect(daemonV8Flags(['--heap-growing-percent=0'])).toEqual(['--no-memory-reducer']);
    expect(daemonV8Flags(['--heap_growing_percent=50'])).toEqual(['--no-memory-reducer']);
    expect(daemonV8Flags(['--heap-growing-percent', '300', '--memory-reducer'])).toEqual([]);
  });
});

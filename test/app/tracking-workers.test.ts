import { describe, expect, it } from 'vitest';
import { workerCount } from '../../src/app/tracking-workers.js';

describe('milter.workers', () => {
  it('-1 is one worker per core, at least one; other values are taken as they are', () => {
    expect(workerCount(-1, 1)).toBe(1);
    expect(workerCount(-1, 2)).toBe(2);
    expect(workerCount(-1, 8)).toBe(8);
    expect(workerCount(0, 8)).toBe(0);
    expect(workerCount(3, 2)).toBe(3);
  });
});

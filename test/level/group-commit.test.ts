import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../src/level/group-commit.js';

describe('GroupCommitter', () => {
  it('writes groups one at a time, in order, merging what arrives meanwhile', async () => {
    const groups: number[][] = [];
    let concurrent = 0;
    const committer = new GroupCommitter<number>(async (items) => {
      concurrent += 1;
      expect(concurrent).toBe(1);
      groups.push(items);
      await new Promise((resolve) => setTimeout(resolve, 5));
      concurrent -= 1;
    }, 100);
    const first = [1, 2, 3].map((n) => committer.submit(n));
    await new Promise((resolve) => setTimeout(resolve, 1)); // first group now in flight
    const second = [4, 5].map((n) => committer.submit(n));
    await Promise.all([...first, ...second]);
    expect(groups).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(committer.stats).toEqual({ groups: 2, calls: 5, largestGroup: 3 });
  });

  it('rejects every caller of a failed group and goes on with the next', async () => {
    let fail = true;
    const committer = new GroupCommitter<number>(async () => {
      if (fail) throw new Error('disk full');
    }, 100);
    const doomed = [committer.submit(1), committer.submit(2)];
    await Promise.allSettled(doomed);
    for (const p of doomed) await expect(p).rejects.toThrow('disk full');
    fail = false;
    await expect(committer.submit(3)).resolves.toBeUndefined();
    expect(committer.stats.groups).toBe(1);
  });

  it('caps a group at maxGroupSize and drain waits for everything', async () => {
    const sizes: number[] = [];
    const committer = new GroupCommitter<number>(async (items) => {
      sizes.push(items.length);
    }, 4);
    for (let i = 0; i < 10; i++) void committer.submit(i);
    expect(committer.pending).toBe(10);
    await committer.drain();
    expect(sizes).toEqual([4, 4, 2]);
    expect(committer.pending).toBe(0);
  });
});

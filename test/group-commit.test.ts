import { describe, expect, it } from 'vitest';
import { groupCommit } from '../src/infra/group-commit.js';

/** groupCommit (src/infra/group-commit.ts): batching, order and failures, on a flush that records what it got. */

function recorder(fail: (items: number[]) => boolean = () => false) {
  const batches: number[][] = [];
  let running = 0;
  let maxRunning = 0;
  const flush = async (items: number[]) => {
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    batches.push(items);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running -= 1;
    if (fail(items)) throw new Error(`batch of ${items[0]} failed`);
  };
  return { batches, flush, maxRunning: () => maxRunning };
}

describe('groupCommit', () => {
  it('sends a lone item at once, and the items that wait meanwhile together, in order', async () => {
    const { batches, flush, maxRunning } = recorder();
    const add = groupCommit({ flush, maxInFlight: 1, maxBatch: 100 });
    await Promise.all(Array.from({ length: 250 }, (_, i) => add(i)));
    expect(batches[0]).toEqual([0]);
    expect(batches.slice(1).map((batch) => batch.length)).toEqual([100, 100, 49]);
    expect(batches.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(maxRunning()).toBe(1);
  });

  it('runs up to maxInFlight flushes at once', async () => {
    const { batches, flush, maxRunning } = recorder();
    const add = groupCommit({ flush, maxInFlight: 3, maxBatch: 10 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => add(i)));
    expect(maxRunning()).toBe(3);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('a failed flush rejects the items of its batch only; the next batches still go', async () => {
    const { batches, flush } = recorder((items) => items.includes(1));
    const add = groupCommit({ flush, maxInFlight: 1, maxBatch: 2 });
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => add(i)));
    expect(batches).toEqual([[0], [1, 2], [3, 4]]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('batch of 1 failed'));
  });

  it('a flush that throws before its promise rejects its batch too', async () => {
    const add = groupCommit<number>({
      flush: () => {
        throw new Error('synchronous');
      },
      maxInFlight: 1,
      maxBatch: 10,
    });
    await expect(add(1)).rejects.toThrow('synchronous');
    await expect(add(2)).rejects.toThrow('synchronous');
  });
});

import { describe, expect, it } from 'vitest';
import { inBatchesOf } from '../../../src/util/concurrency.ts';

describe('inBatchesOf', () => {
  it('never runs more than the limit at once, and answers in the items\' order', async () => {
    let running = 0;
    let most = 0;
    const results = await inBatchesOf(3, [50, 10, 30, 5, 20, 1, 15], async (ms) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running -= 1;
      return ms * 2;
    });
    expect(most).toBe(3);
    expect(results).toEqual([100, 20, 60, 10, 40, 2, 30]);
  });

  it('takes no items', async () => {
    expect(await inBatchesOf(8, [], async () => 1)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { inBatchesOf, Turns } from '../../../src/util/concurrency.ts';

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

describe('turns', () => {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('run one at a time in the order asked; a waiter is told what runs; a failure ends its turn', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const job = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await pause(ms);
      log.push(`end ${name}`);
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    const told: string[] = [];
    const results = await Promise.allSettled([
      turns.run('a', job('a', 20), (r) => told.push(`a waits for ${r}`)),
      turns.run('b', job('b', 5, true), (r) => told.push(`b waits for ${r}`)),
      turns.run('c', job('c', 1), (r) => told.push(`c waits for ${r}`)),
    ]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(told).toEqual(['b waits for a', 'c waits for a']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(turns.running).toBeNull();
  });
});

/** Runs `work` over `items` with at most `limit` running at once; the results in the items' order. */
export async function inBatchesOf<T, R>(limit: number, items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Work that must not overlap: one piece at a time, in the order asked, each after the last has ended (however it ended). */
export class Turns {
  private last: Promise<void> = Promise.resolve();
  /** What is running (first) and what waits, by name, in order. */
  private readonly queue: string[] = [];

  /** What runs now (or is about to), if anything. */
  get running(): string | null {
    return this.queue[0] ?? null;
  }

  /** Runs `work` (called `what`) in its turn; `waiting` is told what runs now when it must wait. */
  async run<T>(what: string, work: () => Promise<T>, waiting?: (running: string) => void): Promise<T> {
    const before = this.last;
    let ended!: () => void;
    this.last = new Promise<void>((resolve) => (ended = resolve));
    const running = this.running;
    this.queue.push(what);
    if (running !== null) waiting?.(running);
    try {
      await before;
      return await work();
    } finally {
      this.queue.shift();
      ended();
    }
  }
}

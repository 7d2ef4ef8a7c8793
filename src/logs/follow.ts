import type { LogEntry } from './parse.ts';

/** Enough of an entry to tell it from another: the timeline in the page has the same fields. */
type Keyed = Pick<LogEntry, 'time' | 'machine' | 'component' | 'raw'>;

const keyOf = (entry: Keyed): string => `${entry.time}|${entry.machine}|${entry.component}|${entry.raw}`;

/**
 * What a following timeline (`lab logs --follow`, the page's log panel) has shown, in bounded memory: the newest time seen and the lines at that
 * exact time (the next read starts there, so those come again). Lines older than that were printed.
 */
export class LogFollower {
  private newest: number;
  private atNewest = new Set<string>();
  /** Where the next read starts. */
  since: number;

  /** How late a line may arrive (machines' clocks and journals flush at their own pace) and still be printed. */
  static readonly LATE_MS = 10_000;

  constructor(since: number) {
    this.newest = since;
    this.since = since;
  }

  /** The entries not printed yet, in time order; remembers them as printed. */
  fresh<T extends Keyed>(entries: T[]): T[] {
    const out: T[] = [];
    for (const entry of [...entries].sort((a, b) => a.time - b.time)) {
      // Anything older than where this read started was printed already (or came too late).
      if (entry.time < this.since) continue;
      const key = keyOf(entry);
      if (entry.time === this.newest) {
        if (this.atNewest.has(key)) continue;
        this.atNewest.add(key);
      } else {
        this.newest = entry.time;
        this.atNewest = new Set([key]);
      }
      out.push(entry);
    }
    this.since = Math.max(this.since, this.newest);
    return out;
  }

  /** After a read that started at `startedAt`: the window moves on even when nothing came, keeping room for late lines. */
  polled(startedAt: number): void {
    this.since = Math.max(this.since, this.newest, startedAt - LogFollower.LATE_MS);
  }
}

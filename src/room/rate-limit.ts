/**
 * Token buckets by key (a client's address) plus one for everyone: a burst of joins from one
 * address, or from many, is refused with the seconds to wait, never queued.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    /** Joins one client may make in a burst, refilled at perKeyPerMinute. */
    private readonly perKeyBurst = 5,
    private readonly perKeyPerMinute = 5,
    /** Joins all clients together may make in a burst, refilled at allPerMinute. */
    private readonly allBurst = 40,
    private readonly allPerMinute = 120,
    private readonly now: () => number = Date.now,
  ) {}

  /** null when allowed (and counted), else the seconds until the next attempt may succeed. */
  take(key: string): number | null {
    const mine = this.bucket(key, this.perKeyBurst, this.perKeyPerMinute);
    const all = this.bucket('\0all', this.allBurst, this.allPerMinute);
    if (mine.tokens < 1) return Math.ceil(((1 - mine.tokens) * 60) / this.perKeyPerMinute);
    if (all.tokens < 1) return Math.ceil(((1 - all.tokens) * 60) / this.allPerMinute);
    mine.tokens -= 1;
    all.tokens -= 1;
    if (this.buckets.size > 10_000) this.prune();
    return null;
  }

  private bucket(key: string, burst: number, perMinute: number): { tokens: number; at: number } {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 60_000) * perMinute);
    bucket.at = now;
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Forgets full buckets, so many addresses cannot grow the map without bound. */
  private prune(): void {
    for (const [key, bucket] of this.buckets) if (key !== '\0all' && bucket.tokens >= this.perKeyBurst - 1) this.buckets.delete(key);
  }
}

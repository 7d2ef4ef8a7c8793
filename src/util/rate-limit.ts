/** How often something may happen: `burst` at once, refilled at `perMinute`. */
export interface Rate {
  burst: number;
  perMinute: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key (a learner's token, a client's address). A refusal is the seconds to wait,
 * never a queue. Full buckets are forgotten once there are many keys, so callers inventing keys
 * cannot grow the map without bound.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly rate: Rate,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  /** The seconds until `key` may take one (0: now), taking nothing. */
  wait(key: string): number {
    // Short of a whole token by a hair is a whole one: refills add up in floating point (0.9 + 0.1 < 1).
    const missing = 1 - this.refilled(key).tokens - 1e-9;
    return missing <= 0 ? 0 : Math.ceil((missing * 60) / this.rate.perMinute);
  }

  /** null when allowed (and counted), else the seconds until the next attempt may succeed. */
  take(key: string): number | null {
    const wait = this.wait(key);
    if (wait > 0) return wait;
    const bucket = this.buckets.get(key) ?? this.refilled(key);
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.prune();
    return null;
  }

  /** The key's bucket as it is now; a key never seen has a full one (not stored until something is taken). */
  private refilled(key: string): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.rate.burst, at: now };
    bucket.tokens = Math.min(this.rate.burst, bucket.tokens + ((now - bucket.at) / 60_000) * this.rate.perMinute);
    bucket.at = now;
    return bucket;
  }

  private prune(): void {
    for (const key of [...this.buckets.keys()]) if (this.refilled(key).tokens >= this.rate.burst) this.buckets.delete(key);
  }
}

/** A rate per key plus one for every key together (a burst from one address, or from many). */
export class RateLimiter {
  private readonly mine: TokenBuckets;
  private readonly all: TokenBuckets;

  constructor({ perKey, all, now = Date.now }: { perKey: Rate; all: Rate; now?: () => number }) {
    this.mine = new TokenBuckets(perKey, now);
    this.all = new TokenBuckets(all, now);
  }

  /** null when allowed (and counted against both), else the seconds until the next attempt may succeed. */
  take(key: string): number | null {
    const wait = this.mine.wait(key) || this.all.wait(ALL);
    if (wait > 0) return wait;
    this.mine.take(key);
    this.all.take(ALL);
    return null;
  }
}

const ALL = '\0all';

/** Work in flight by key, at most `limit` at once for each key. */
export class InFlight {
  private readonly counts = new Map<string, number>();

  constructor(readonly limit: number) {}

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** A function that ends this piece of work (calling it again does nothing), or null when the key is full. */
  enter(key: string): (() => void) | null {
    if (this.count(key) >= this.limit) return null;
    this.counts.set(key, this.count(key) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = this.count(key) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }
}

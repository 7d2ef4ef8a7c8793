import { describe, expect, it } from 'vitest';
import { InFlight, RateLimiter, TokenBuckets } from '../../../src/util/rate-limit.ts';

describe('token buckets by key', () => {
  it('allow a burst, then say how long to wait; other keys are not affected; they refill', () => {
    let now = 0;
    const buckets = new TokenBuckets({ burst: 3, perMinute: 6 }, () => now);
    expect([1, 2, 3].map(() => buckets.take('a'))).toEqual([null, null, null]);
    expect(buckets.wait('a')).toBe(10);
    expect(buckets.take('a')).toBe(10);
    expect(buckets.take('b')).toBeNull();
    now += 9_000;
    expect(buckets.take('a')).toBe(1);
    now += 1_000;
    expect(buckets.take('a')).toBeNull();
    // refilled for a long time, a key has its burst again and no more
    now += 3_600_000;
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([null, null, null, 10]);
  });

  it('waiting takes nothing', () => {
    const buckets = new TokenBuckets({ burst: 1, perMinute: 1 }, () => 0);
    expect(buckets.wait('a')).toBe(0);
    expect(buckets.wait('a')).toBe(0);
    expect(buckets.take('a')).toBeNull();
    expect(buckets.wait('a')).toBe(60);
  });

  it('forget full buckets once there are many keys, keeping the ones still spent', () => {
    let now = 0;
    const buckets = new TokenBuckets({ burst: 2, perMinute: 60 }, () => now, 3);
    buckets.take('spent');
    buckets.take('spent');
    for (const key of ['x', 'y', 'z']) buckets.take(key);
    now += 1_000; // x, y and z are full again; spent has one token of two
    buckets.take('w');
    expect(buckets.take('spent')).toBeNull();
    expect(buckets.take('spent')).toBe(1);
  });
});

describe('the join rate limit (per address and overall)', () => {
  it('allows a burst per address, then says how long to wait; others are not affected; it refills', () => {
    let now = 0;
    const limiter = new RateLimiter({ perKey: { burst: 3, perMinute: 6 }, all: { burst: 100, perMinute: 100 }, now: () => now });
    expect([1, 2, 3].map(() => limiter.take('a'))).toEqual([null, null, null]);
    expect(limiter.take('a')).toBe(10);
    expect(limiter.take('b')).toBeNull();
    now += 10_000;
    expect(limiter.take('a')).toBeNull();
  });

  it('many addresses together are refused once the overall burst is spent; a refusal counts against neither', () => {
    let now = 0;
    const limiter = new RateLimiter({ perKey: { burst: 2, perMinute: 2 }, all: { burst: 3, perMinute: 60 }, now: () => now });
    expect(['a', 'b', 'c'].map((k) => limiter.take(k))).toEqual([null, null, null]);
    expect(limiter.take('d')).toBe(1);
    now += 1_000;
    expect(limiter.take('d')).toBeNull();
    expect(limiter.take('d')).toBe(1);
  });
});

describe('work in flight by key', () => {
  it('admits up to the limit per key; ending one (once, however often it is called) admits the next', () => {
    const inFlight = new InFlight(2);
    const first = inFlight.enter('a')!;
    const second = inFlight.enter('a')!;
    expect(inFlight.enter('a')).toBeNull();
    expect(inFlight.enter('b')).not.toBeNull();
    first();
    first();
    expect(inFlight.count('a')).toBe(1);
    expect(inFlight.enter('a')).not.toBeNull();
    expect(inFlight.enter('a')).toBeNull();
    second();
    expect(inFlight.count('a')).toBe(1);
  });
});

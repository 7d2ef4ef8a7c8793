import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, LearnerLimits, type Admission } from '../../../src/web/limits.ts';

/** Admits and, like a server, ends each call once answered (at once here). */
function call(limits: LearnerLimits, key: string, path: string): Admission {
  const admission = limits.admitCall(key, path);
  if (admission.ok) admission.release();
  return admission;
}

describe('the limits per learner, with the defaults', () => {
  it('a page open for an hour in two tabs, with Check clicked every few seconds, is never refused', () => {
    let now = 0;
    const limits = new LearnerLimits(DEFAULT_LIMITS, () => now);
    const refused: string[] = [];
    for (let second = 0; second < 3600; second++) {
      now = second * 1000;
      const paths = ['/api/state', '/api/state']; // two tabs, each polling every second
      if (second % 2 === 0) paths.push('/api/logs', '/api/logs', '/room/api/notices', '/room/api/notices');
      if (second % 5 === 0) paths.push('/api/map', '/api/map');
      if (second % 3 === 0) paths.push('/api/check');
      if (second % 60 === 0) paths.push('/api/traceable', '/api/trace', '/api/health');
      for (const path of paths) if (!call(limits, 'ann', path).ok) refused.push(`${second}s ${path}`);
    }
    expect(refused).toEqual([]);
  });

  it('a script hammering /api/logs is refused within seconds, told what and when; the rest of the API still answers it, other learners are untouched', () => {
    let now = 0;
    const limits = new LearnerLimits(DEFAULT_LIMITS, () => now);
    let first: Admission | undefined;
    for (let i = 0; i < 200 && !first; i++) {
      now = i * 50; // 20 a second
      const admission = call(limits, 'script', '/api/logs');
      if (!admission.ok) first = admission;
    }
    expect(first?.ok).toBe(false);
    expect(now).toBeLessThan(2000);
    if (first?.ok !== false) return;
    expect(first.refusal.error).toMatch(/^too many log, trace, map and health reads \(this one: \/api\/logs\): each learner may make 120 a minute \(30 at once\); try again in \d+ s$/);
    expect(first.refusal.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(first.refusal.next).toMatch(/Retry-After/);
    expect(call(limits, 'script', '/api/state').ok).toBe(true);
    expect(call(limits, 'ann', '/api/logs').ok).toBe(true);
    // it comes back once it waits as told
    now += first.refusal.retryAfterS * 1000;
    expect(call(limits, 'script', '/api/logs').ok).toBe(true);
  });

  it('a script hammering any route is refused by the rate of all calls', () => {
    const limits = new LearnerLimits(DEFAULT_LIMITS, () => 0);
    const answers = Array.from({ length: 150 }, () => call(limits, 'script', '/api/state'));
    expect(answers.filter((a) => a.ok)).toHaveLength(DEFAULT_LIMITS.calls.rate.burst);
    const refusal = answers.find((a) => !a.ok);
    expect(refusal?.ok === false && refusal.refusal.error).toMatch(/^too many API calls: each learner may make 600 a minute \(120 at once\); try again in 1 s$/);
  });
});

describe('the limits per learner: work in flight', () => {
  const small = { calls: { rate: { burst: 100, perMinute: 100 }, inFlight: 3 }, reads: { rate: { burst: 100, perMinute: 100 }, inFlight: 1 }, terminals: { rate: { burst: 100, perMinute: 100 }, open: 2 } };

  it('unanswered calls count until they are answered; a refusal counts against nothing', () => {
    const limits = new LearnerLimits(small, () => 0);
    const log = limits.admitCall('ann', '/api/logs');
    expect(log.ok).toBe(true);
    const second = limits.admitCall('ann', '/api/map');
    expect(second.ok === false && second.refusal).toMatchObject({ retryAfterS: 2, error: 'too many log, trace, map and health reads at once: each learner may have 1 unanswered; try again in 2 s' });
    const checks = [limits.admitCall('ann', '/api/check'), limits.admitCall('ann', '/api/solve')];
    expect(checks.every((c) => c.ok)).toBe(true);
    const third = limits.admitCall('ann', '/api/state');
    expect(third.ok === false && third.refusal.error).toBe('too many API calls at once: each learner may have 3 unanswered; try again in 2 s');
    expect(limits.admitCall('bob', '/api/state').ok).toBe(true);
    if (log.ok) log.release();
    expect(call(limits, 'ann', '/api/state').ok).toBe(true);
    expect(call(limits, 'ann', '/api/map').ok).toBe(true);
  });

  it('terminals: open ones count until they close; opening too fast is refused with the wait', () => {
    let now = 0;
    const limits = new LearnerLimits({ ...small, terminals: { rate: { burst: 3, perMinute: 6 }, open: 2 } }, () => now);
    const a = limits.admitTerminal('ann');
    const b = limits.admitTerminal('ann');
    const c = limits.admitTerminal('ann');
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    expect(c.ok === false && c.refusal.error).toBe('too many terminals open: at most 2 per learner; close one (or a tab), then try again in 5 s');
    expect(limits.admitTerminal('bob').ok).toBe(true);
    if (a.ok) a.release();
    const d = limits.admitTerminal('ann');
    expect(d.ok).toBe(true);
    if (d.ok) d.release();
    const e = limits.admitTerminal('ann');
    expect(e.ok === false && e.refusal).toMatchObject({ retryAfterS: 10, error: 'too many new terminals: at most 6 a minute (3 at once); try again in 10 s' });
    now += 10_000;
    expect(limits.admitTerminal('ann').ok).toBe(true);
  });
});

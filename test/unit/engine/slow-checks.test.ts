import { describe, expect, it } from 'vitest';
import type { MachineProvider } from '../../../vm/provider.ts';
import { CHECK_TIMEOUT_MS, failureMessage, runChecks } from '../../../src/engine/runner.ts';
import { timeScale } from '../../../src/util/time.ts';

/** A provider whose exec answers from a table: a number is an exit code, 'hang' runs out of time as the Docker provider does. */
function providerAnswering(answers: Record<string, number | 'hang'>, seen: number[] = []): MachineProvider {
  return {
    exec: async (_lab: string, machine: string, command: string[], options: { timeoutMs?: number } = {}) => {
      seen.push(options.timeoutMs ?? 0);
      const answer = answers[command[2]!];
      if (answer === 'hang') throw new Error(`bash -c ${command[2]} on ${machine} did not finish within ${(options.timeoutMs ?? 0) / 1000} s and was stopped`);
      return { exitCode: answer ?? 0, stdout: '', stderr: '' };
    },
  } as unknown as MachineProvider;
}

describe('checks on a slow host', () => {
  it('a check that runs out of time says the host was slow, not that the step is wrong', async () => {
    const outcome = await runChecks(providerAnswering({ slow: 'hang', wrong: 1 }), 'lab', [
      { run: 'slow', fail: 'The kubelet is not running.' },
      { run: 'wrong', fail: 'The kube-proxy is not running.' },
      { run: 'fine', fail: 'never shown' },
    ]);
    expect(outcome.passed).toBe(false);
    expect(outcome.failures.map(failureMessage)).toEqual([expect.stringMatching(/^Too slow to grade: .*within 30 s.*HARDWAY_TIME_SCALE/), 'The kube-proxy is not running.']);
    expect(outcome.failures[0]!.timedOut).toBe(true);
    expect(outcome.failures[1]!.timedOut).toBeUndefined();
  });

  it('HARDWAY_TIME_SCALE stretches the limits; nonsense leaves the measured defaults', async () => {
    expect(timeScale({ HARDWAY_TIME_SCALE: '3' })).toBe(3);
    expect(timeScale({ HARDWAY_TIME_SCALE: 'fast' })).toBe(1);
    expect(timeScale({ HARDWAY_TIME_SCALE: '0.1' })).toBe(1);
    expect(timeScale({})).toBe(1);
    const seen: number[] = [];
    const before = process.env.HARDWAY_TIME_SCALE;
    process.env.HARDWAY_TIME_SCALE = '2';
    try {
      await runChecks(providerAnswering({}, seen), 'lab', [{ run: 'fine', fail: '' }]);
    } finally {
      if (before === undefined) delete process.env.HARDWAY_TIME_SCALE;
      else process.env.HARDWAY_TIME_SCALE = before;
    }
    expect(seen).toEqual([CHECK_TIMEOUT_MS * 2]);
  });
});

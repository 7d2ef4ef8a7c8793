import { describe, expect, it } from 'vitest';
import { CLOSE_LIMITED, limitedRetryMs, shellClientId } from '../../../components/shell-client.ts';
import { CLIENT_ID } from '../../../src/web/terminal-socket.ts';
import { CLOSE_LIMITED as SERVER_CLOSE_LIMITED } from '../../../src/web/terminals.ts';
import { LearnerLimits } from '../../../src/web/limits.ts';

const TAB = '0b6f2c1e-9d3a-4c55-8e7f-2a1b3c4d5e6f';
const GENERATIONS = [0, 1, 2, 3, 12];

describe("a terminal's client id", () => {
  it('is, for the first shell, the id the page always used: the tab, then the generation if any', () => {
    expect(shellClientId(TAB, 0, 1)).toBe(TAB);
    expect(shellClientId(TAB, 3, 1)).toBe(`${TAB}.3`);
  });

  it('for a second shell never equals a first shell of any generation, nor a second shell of another', () => {
    const first = GENERATIONS.map((g) => shellClientId(TAB, g, 1));
    const second = GENERATIONS.map((g) => shellClientId(TAB, g, 2));
    expect(new Set([...first, ...second]).size).toBe(first.length + second.length);
  });

  it('is one the terminal WebSocket accepts', () => {
    for (const generation of GENERATIONS) for (const shell of [1, 2] as const) expect(shellClientId(TAB, generation, shell)).toMatch(CLIENT_ID);
  });
});

describe('a terminal the server refuses for now', () => {
  it('is told apart by the code the server closes it with', () => {
    expect(CLOSE_LIMITED).toBe(SERVER_CLOSE_LIMITED);
  });

  it('tries again when the server\'s reason says, for each of its refusals; else after 10 s', () => {
    const limits = new LearnerLimits({ calls: { rate: { burst: 1, perMinute: 1 }, inFlight: 1 }, reads: { rate: { burst: 1, perMinute: 1 }, inFlight: 1 }, terminals: { rate: { burst: 1, perMinute: 4 }, open: 1 } }, () => 0);
    const open = limits.admitTerminal('ann');
    const tooMany = limits.admitTerminal('ann');
    if (open.ok) open.release();
    const tooFast = limits.admitTerminal('ann');
    const reasons = [tooMany, tooFast].map((a) => (a.ok ? '' : a.refusal.error));
    expect(reasons.map(limitedRetryMs)).toEqual([5000, 15_000]);
    expect(limitedRetryMs('something else')).toBe(10_000);
  });
});

import { describe, expect, it } from 'vitest';
import { waitForBoot } from '../../../src/lab/machines.ts';
import { LabError } from '../../../src/util/errors.ts';
import type { Machine, MachineProvider } from '../../../vm/provider.ts';

/** A machine whose container is gone or running, and whose exec fails as the engine's does for a stopped one. */
function providerWith(state: Machine['state']): MachineProvider {
  return {
    exec: async () => {
      throw new Error('(HTTP code 409) container stopped/paused - Container abc is not running');
    },
    list: async () => [{ lab: 'day-1', name: 'node-0', ip: '10.240.0.20', state, containerId: 'abc' }],
  } as unknown as MachineProvider;
}

describe('waitForBoot', () => {
  it('a machine that stops while it boots is named, with where to look and what to try, not the engine\'s error', async () => {
    const error = await waitForBoot(providerWith('stopped'), 'day-1', 'node-0', 5_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).message).toBe('machine node-0 of lab day-1 stopped while it booted');
    expect((error as LabError).next).toMatch(/docker logs hardway-day-1-node-0[\s\S]*inotify[\s\S]*lab doctor/);
  });

  it('an exec error on a running machine is not mistaken for a stopped one', async () => {
    await expect(waitForBoot(providerWith('running'), 'day-1', 'node-0', 5_000)).rejects.toThrow(/HTTP code 409/);
  });
});

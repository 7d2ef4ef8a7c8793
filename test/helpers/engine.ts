import { probeEngine } from '../../vm/engine.ts';
import { startEngine } from '../../src/host/setup.ts';

/** Makes sure a Docker engine answers, starting it the way `lab setup` does. Never skips. */
export async function ensureEngine(): Promise<void> {
  if ((await probeEngine()).reachable) return;
  await startEngine();
}

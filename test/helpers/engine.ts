import { probeEngine } from '../../vm/engine.ts';
import { startEngine } from '../../src/host/setup.ts';
import { LabEngine } from '../../src/engine/lab.ts';
import { loadCourseData } from '../../src/engine/session.ts';
import { DockerProvider } from '../../vm/docker-provider.ts';
import type { MachineProvider } from '../../vm/provider.ts';

/** Makes sure a Docker engine answers, starting it the way `lab setup` does. Never skips. */
export async function ensureEngine(): Promise<void> {
  if ((await probeEngine()).reachable) return;
  await startEngine();
}

/** The engine over a real Docker lab, as the CLI and the server make it. */
export function realLab(lab: string, provider: MachineProvider = new DockerProvider()): LabEngine {
  return new LabEngine(provider, lab, loadCourseData());
}

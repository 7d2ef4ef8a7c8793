// Measures `lab up` of the four machines with a cached image, and their memory at idle.
// Prints figures; asserts nothing (targets: <= 5 s, <= 400 MiB).
import { DockerProvider } from '../../vm/docker-provider.ts';
import { ensureMachineImage } from '../../vm/image.ts';
import { bringUpMachines } from '../../src/lab/machines.ts';
import { ensureEngine } from '../helpers/engine.ts';
import { sleep } from '../../src/util/time.ts';
import { labMemoryMiB } from './memory.ts';

const LAB = `bench-${process.pid.toString(36)}`;
export async function benchMachines(): Promise<void> {
  await ensureEngine();
  const provider = new DockerProvider();
  await ensureMachineImage(provider.docker);
  try {
    const started = performance.now();
    await bringUpMachines(LAB, provider);
    const upSeconds = (performance.now() - started) / 1000;
    await sleep(10_000);
    const { charged: usage, rss } = await labMemoryMiB(provider, LAB);
    console.log(`machines: lab up (4 machines, cached image): ${upSeconds.toFixed(2)} s (target <= 5 s)`);
    console.log(`machines: idle memory after 10 s: ${usage.toFixed(0)} MiB charged, ${rss.toFixed(0)} MiB rss (target <= 400 MiB)`);
  } finally {
    await provider.deleteLab(LAB);
  }
}

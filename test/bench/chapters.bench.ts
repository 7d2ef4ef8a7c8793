// Measures `lab up 14` (every chapter replayed) on a warm cache, and the whole lab's memory after.
// Prints figures; asserts nothing (targets: <= 60 s, <= 1.5 GiB).
import { DockerProvider } from '../../vm/docker-provider.ts';
import { loadCourse } from '../../src/engine/course.ts';
import { ensureEngine, realLab } from '../helpers/engine.ts';
import { sleep } from '../../src/util/time.ts';
import { labMemoryMiB } from './memory.ts';

export async function benchChapters(): Promise<void> {
  await ensureEngine();
  const provider = new DockerProvider();
  const lab = `bench-ch-${process.pid.toString(36)}`;
  const last = Math.max(...loadCourse().map((c) => c.number));
  process.env.HARDWAY_STATE = `/tmp/hardway-bench-state-${process.pid}`;
  try {
    await realLab(lab, provider).up(); // machines and registry first, so the figure below is the replay
    const started = performance.now();
    await realLab(lab, provider).up(last);
    const seconds = (performance.now() - started) / 1000;
    await sleep(15_000);
    const { charged: usage, rss } = await labMemoryMiB(provider, lab);
    console.log(`chapters: lab up ${last} on running machines (replay of chapters 1-${last - 1}): ${seconds.toFixed(1)} s (target <= 60 s)`);
    console.log(`chapters: whole cluster's memory 15 s later: ${usage.toFixed(0)} MiB charged, ${rss.toFixed(0)} MiB rss (target <= 1536 MiB)`);
  } finally {
    await provider.deleteLab(lab);
  }
}

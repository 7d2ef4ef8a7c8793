import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { probeEngine } from '../../vm/engine.ts';
import { startEngine } from '../../src/host/setup.ts';
import { LabEngine } from '../../src/engine/lab.ts';
import { loadCourseData } from '../../src/engine/session.ts';
import type { Snapshot } from '../../src/engine/snapshots.ts';
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

/**
 * Builds the lab to the finished cluster (the chapter after the cluster-built milestone). The first test file
 * to do so keeps a snapshot; the others restore it (the snapshot test proves a restored lab passes every check
 * a replayed one does), which keeps the suite's time inside CI's budget as the course grows.
 */
export async function upToCluster(engine: LabEngine): Promise<void> {
  await engine.up(engine.clusterChapter, { keepSnapshot: true });
}

/**
 * The snapshot of the built cluster (the end of the chapter before `clusterChapter`) on the main
 * engine: the one an earlier test kept, or one kept now by replaying the course in a lab of its own.
 */
export async function clusterSnapshot(): Promise<Snapshot> {
  const engine = realLab(`snap-${process.pid.toString(36)}`);
  const built = engine.clusterChapter - 1;
  const kept = await engine.matchingSnapshot(engine.clusterChapter);
  if (kept?.chapter === built) return kept;
  try {
    await upToCluster(engine);
  } finally {
    await engine.down();
  }
  const made = await engine.matchingSnapshot(engine.clusterChapter);
  if (made?.chapter !== built) throw new Error(`no snapshot of chapters 1-${built} was kept`);
  return made;
}

/** Stops the Docker engine as a host reboot would: every container stops with it. */
export async function stopEngine(timeoutMs = 60_000): Promise<void> {
  if (existsSync('/run/systemd/system')) {
    execFileSync('systemctl', ['stop', 'docker.socket', 'docker.service'], { stdio: 'inherit' });
  } else {
    const pids = execFileSync('pidof', ['dockerd'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    for (const pid of pids) process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + timeoutMs;
  while ((await probeEngine(undefined, 1000)).reachable || spawnSync('pidof', ['dockerd']).status === 0) {
    if (Date.now() > deadline) throw new Error('dockerd did not stop');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

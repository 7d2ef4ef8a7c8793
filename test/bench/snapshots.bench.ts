// Measures `lab up <last>` of a new lab twice in one run: by replaying every chapter, and from a
// snapshot of the first lab; and the disk the snapshot costs. Prints figures; asserts nothing
// (target: <= 20 s from a snapshot on a 2-core host).
import { loadavg } from 'node:os';
import { DockerProvider } from '../../vm/docker-provider.ts';
import { loadCourse } from '../../src/engine/course.ts';
import type { Snapshot } from '../../src/engine/snapshots.ts';
import { ensureEngine, realLab } from '../helpers/engine.ts';

const seconds = (since: number): string => ((performance.now() - since) / 1000).toFixed(1);

export async function benchSnapshots(): Promise<void> {
  await ensureEngine();
  const provider = new DockerProvider();
  const [replayed, restored] = [`bench-rp-${process.pid.toString(36)}`, `bench-rs-${process.pid.toString(36)}`];
  const last = Math.max(...loadCourse().map((c) => c.number));
  process.env.HARDWAY_STATE = `/tmp/hardway-bench-state-${process.pid}`;
  let snapshot: Snapshot | undefined;
  try {
    console.log(`snapshots: host load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other labs on the host slow every figure)`);
    let started = performance.now();
    await realLab(replayed, provider).up(last, { snapshots: false });
    const replay = seconds(started);
    started = performance.now();
    snapshot = await realLab(replayed, provider).snapshot();
    const taking = seconds(started);
    await provider.deleteLab(replayed);
    started = performance.now();
    await realLab(restored, provider).up(last);
    const restore = seconds(started);
    console.log(`snapshots: lab up ${last} of a new lab by replaying chapters 1-${last - 1}: ${replay} s`);
    console.log(`snapshots: lab up ${last} of a new lab from a snapshot: ${restore} s (target <= 20 s)`);
    console.log(`snapshots: lab snapshot at the end of chapter ${snapshot.chapter} (machines stopped, saved, started and settled again): ${taking} s`);
    console.log(`snapshots: disk per snapshot: ${(snapshot.sizeBytes / 1e9).toFixed(2)} GB beyond the machine image (its machines' own layers and containerd volumes)`);
  } finally {
    await provider.deleteLab(replayed);
    await provider.deleteLab(restored);
    if (snapshot) await provider.removeSnapshot(snapshot.id);
  }
}

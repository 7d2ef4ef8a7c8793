// A training day's capacity: what one idle full lab costs (memory charged, CPU), how fast a room
// pre-warms and grades when every lab checks at once, and the room server's own cost with 20
// learners connected and 10 joining together. Prints figures; asserts nothing. Targets (issue 14):
// >= 12 idle full labs on a 24 GiB host, 10 pre-warmed joins in < 10 s together, the board within 2 s
// of a learner's check. HARDWAY_BENCH_LABS sets how many real labs it measures (default 3).
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { DockerProvider } from '../../vm/docker-provider.ts';
import { startRoomServer } from '../../src/web/room-server.ts';
import { ensureUiBuilt } from '../../src/web/ui-build.ts';
import { ensureEngine, realLab } from '../helpers/engine.ts';
import { fakeRoom, GiB, labsSettled } from '../helpers/fake-room.ts';
import { containerCpuSeconds, labMemoryMiB } from './memory.ts';

const seconds = (since: number): string => ((performance.now() - since) / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The host's busy and total CPU time so far, in seconds (every core, from /proc/stat). */
function hostCpu(): { busy: number; total: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / 100, total: (busy + idle! + iowait!) / 100 };
}

/** What the host keeps for itself and the engine before any lab: the room's placement uses the same. */
const HOST_RESERVE_GIB = 2;

export async function benchCapacity(): Promise<void> {
  await benchRoomServer();
  await benchRealLabs();
}

/** The room server alone, on fake engines: joins, 20 learners polling like their pages do, a check reaching the board. */
async function benchRoomServer(): Promise<void> {
  const learners = 20;
  const world = fakeRoom({ prewarm: learners, capacity: learners }, [24 * GiB, 24 * GiB]);
  const { room } = await world.open();
  const server = await startRoomServer({ room, host: '127.0.0.1', port: 0, uiDir: await ensureUiBuilt(), log: () => {} });
  const origin = new URL(server.url).origin;
  const headers = (token?: string) => ({ 'Content-Type': 'application/json', Origin: origin, ...(token ? { Authorization: `Bearer ${token}` } : {}) });
  try {
    await labsSettled(room);
    const join = async (name: string) => {
      const response = await fetch(`${origin}/room/api/join`, { method: 'POST', headers: headers(), body: JSON.stringify({ code: room.row.join_code, name }) });
      if (!response.ok) throw new Error(`join ${name}: ${response.status} ${await response.text()}`);
      return (await response.json()) as { token: string; lab: string };
    };
    let started = performance.now();
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => join(`learner-${i}`)));
    console.log(`capacity: 10 learners joining a pre-warmed room together: ${seconds(started)} s (target < 10 s; the room server's share, labs already built)`);
    const all = [...first, ...(await Promise.all(Array.from({ length: learners - 10 }, (_, i) => join(`learner-${10 + i}`))))];

    // Each page reads its lab's state every second while it is open, and the room's notices.
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    let polling = true;
    const polls = all.map(async ({ token, lab }) => {
      while (polling) {
        await Promise.all([fetch(`${origin}/lab/${lab}/api/state`, { headers: headers(token) }).then((r) => r.arrayBuffer()), fetch(`${origin}/room/api/notices`, { headers: headers(token) }).then((r) => r.arrayBuffer())]);
        await sleep(1000);
      }
    });
    await sleep(30_000);
    polling = false;
    await Promise.all(polls);
    const cpu = process.cpuUsage(cpuBefore);
    const busy = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);
    console.log(`capacity: the room server with ${learners} learners' pages polling (state every second): ${(100 * busy).toFixed(1)} % of one core, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB resident (this process, fake engines)`);

    // A learner's check, then the board's own API until it counts it.
    const { token, lab } = all[0]!;
    const engine = world.engines.find((e) => (e.provider.machines.get(lab)?.size ?? 0) > 0)!;
    engine.provider.factsOf(lab).add('b1');
    started = performance.now();
    await fetch(`${origin}/lab/${lab}/api/check`, { method: 'POST', headers: headers(token), body: JSON.stringify({ chapter: 2, step: 'b1' }) });
    for (;;) {
      const board = (await (await fetch(`${origin}/board/api/state`, { headers: headers(world.instructorToken) })).json()) as { learners: { lab: string; checksPassed: number }[] };
      if (board.learners.find((l) => l.lab === lab)?.checksPassed === 1) break;
      await sleep(50);
    }
    console.log(`capacity: a learner's check on the board's API after ${((performance.now() - started) / 1000).toFixed(2)} s (the board page reads it every second: target within 2 s)`);
  } finally {
    await server.close();
  }
}

/** Real full labs at the cluster chapter, made from a snapshot as a room pre-warms them, then left idle. */
async function benchRealLabs(): Promise<void> {
  await ensureEngine();
  const provider = new DockerProvider();
  const count = Math.max(2, Number(process.env.HARDWAY_BENCH_LABS ?? 3));
  process.env.HARDWAY_STATE = `/tmp/hardway-bench-state-${process.pid}`;
  const names = Array.from({ length: count }, (_, i) => `bench-cap${i}-${process.pid.toString(36)}`);
  const chapter = realLab(names[0]!, provider).clusterChapter;
  try {
    console.log(`capacity: host load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${(totalmem() / GiB).toFixed(1)} GiB`);
    let started = performance.now();
    await realLab(names[0]!, provider).up(chapter, { keepSnapshot: true });
    console.log(`capacity: the first lab at chapter ${chapter} (from a snapshot if one is kept, else replayed and kept): ${seconds(started)} s`);
    started = performance.now();
    for (const name of names.slice(1)) await realLab(name, provider).up(chapter);
    console.log(`capacity: pre-warming ${count - 1} more labs one after another from the snapshot: ${seconds(started)} s (${((performance.now() - started) / 1000 / (count - 1)).toFixed(1)} s each)`);

    await sleep(30_000); // let the restored labs settle before measuring them idle
    const machines = await Promise.all(names.map((name) => provider.list(name)));
    const cpu = () => machines.map((ms) => ms.reduce((sum, m) => sum + (containerCpuSeconds(m.containerId) ?? 0), 0));
    const before = cpu();
    const hostBefore = hostCpu();
    const window = 60_000;
    await sleep(window);
    const after = cpu();
    const hostAfter = hostCpu();
    const hostBusy = (hostAfter.busy - hostBefore.busy) / (window / 1000);
    const cpuPerLab = after.map((a, i) => (a - before[i]!) / (window / 1000));
    const memory = await Promise.all(names.map((name) => labMemoryMiB(provider, name)));
    const charged = memory.reduce((sum, m) => sum + m.charged, 0) / count;
    const rss = memory.reduce((sum, m) => sum + m.rss, 0) / count;
    const cores = cpuPerLab.reduce((a, b) => a + b, 0) / count;
    console.log(`capacity: one idle full lab: ${charged.toFixed(0)} MiB charged (${rss.toFixed(0)} MiB resident), ${(100 * cores).toFixed(1)} % of one core in its machines`);
    console.log(`capacity: the whole host with ${count} idle full labs: ${(100 * hostBusy).toFixed(0)} % of one core busy of ${cpus().length} (machines, Docker engine, everything else)`);
    const byMemory = Math.floor(((24 - HOST_RESERVE_GIB) * 1024) / charged);
    const byCpu = Math.floor((2 * 0.7) / cores);
    console.log(`capacity: a 24 GiB, 2-core host holds ~${byMemory} idle full labs by memory (${HOST_RESERVE_GIB} GiB kept back) and ~${byCpu} by CPU (70 % of 2 cores): ~${Math.min(byMemory, byCpu)} (target >= 12)`);

    // Every learner presses Check at the same moment: the first step of the chapter they are on.
    started = performance.now();
    const latencies = await Promise.all(
      names.map(async (name) => {
        const t = performance.now();
        const result = await realLab(name, provider).check();
        const timedOut = result.outcome.failures.some((f) => f.timedOut);
        return { ms: performance.now() - t, timedOut };
      }),
    );
    const worst = Math.max(...latencies.map((l) => l.ms)) / 1000;
    console.log(`capacity: ${count} labs checking at once: slowest answer ${worst.toFixed(1)} s, ${latencies.filter((l) => l.timedOut).length} too slow to grade`);
  } finally {
    for (const name of names) await provider.deleteLab(name);
  }
}

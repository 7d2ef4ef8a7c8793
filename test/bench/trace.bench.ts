// Measures what seeing the control loops costs, on a whole cluster (every chapter replayed):
// - `lab trace` latency for a fresh 2-replica deployment and its Service (median of 3 reads);
// - audit log volume: lines per minute on an idle cluster and while a deployment rolls;
// - the API server's resident memory with chapter 8's audit policy and without it;
// - the live map's CPU cost: what reading it every 5 s (as the page does) adds to the machines,
//   dockerd, containerd and this process, as a share of one core (target < 5 %).
// Prints figures; asserts nothing.
import { readFileSync, readdirSync } from 'node:fs';
import { realLab, ensureEngine } from '../helpers/engine.ts';
import { ensureArtifacts } from '../helpers/artifacts.ts';
import { sleep } from '../../src/util/time.ts';
import type { LabEngine } from '../../src/engine/lab.ts';
import { containerCpuSeconds } from './memory.ts';

const LAB = `bench-trace-${process.pid.toString(36)}`;
const KUBECTL = 'kubectl --kubeconfig /root/admin.kubeconfig';
const MAP_POLL_MS = 5000;
const WINDOW_MS = 60_000;
const TICKS_PER_SECOND = 100;

/** CPU seconds (with reaped children: each exec's runc) of dockerd, containerd and the lab's shims. */
function engineCpu(ids: string[]): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const ours = /^(\/\S*\/)?(dockerd|containerd)(\s|$)/.test(cmdline) || (cmdline.includes('containerd-shim') && ids.some((id) => cmdline.includes(id)));
      if (!ours) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

async function onServer(engine: LabEngine, script: string): Promise<string> {
  const result = await engine.provider.exec(LAB, 'server', ['bash', '-c', script], { timeoutMs: 300_000, workdir: '/root' });
  if (result.exitCode !== 0) throw new Error(`${script}: ${result.stderr}`);
  return result.stdout.trim();
}

const auditLines = async (engine: LabEngine) => Number(await onServer(engine, 'cat /var/log/audit-*.log /var/log/audit.log 2>/dev/null | wc -l'));
const apiServerRssMiB = async (engine: LabEngine) => Number(await onServer(engine, 'ps -o rss= -C kube-apiserver | head -1')) / 1024;

/** Lines written per minute while `work` runs (at least a minute is watched). */
async function auditRate(engine: LabEngine, work: () => Promise<void>): Promise<{ perMinute: number; lines: number; seconds: number }> {
  const before = await auditLines(engine);
  const started = Date.now();
  await Promise.all([work(), sleep(WINDOW_MS)]);
  const seconds = (Date.now() - started) / 1000;
  const lines = (await auditLines(engine)) - before;
  return { perMinute: (lines / seconds) * 60, lines, seconds };
}

/** CPU (cores) of the lab's machines, of the shared Docker engine (dockerd, containerd: other labs' work too) and of this process. */
interface CpuShare {
  machines: number;
  engine: number;
  self: number;
}

export async function mapCost(engine: LabEngine, lab = LAB): Promise<{ baseline: CpuShare; withMap: CpuShare; reads: number; readMs: number }> {
  const ids = (await engine.provider.list(lab)).map((m) => m.containerId);
  const measure = async (run: () => Promise<void>): Promise<CpuShare> => {
    const [machines0, engine0, self0, t0] = [ids.reduce((sum, id) => sum + (containerCpuSeconds(id) ?? 0), 0), engineCpu(ids), process.cpuUsage(), performance.now()];
    await run();
    const self = process.cpuUsage(self0);
    const seconds = (performance.now() - t0) / 1000;
    return { machines: (ids.reduce((sum, id) => sum + (containerCpuSeconds(id) ?? 0), 0) - machines0) / seconds, engine: (engineCpu(ids) - engine0) / seconds, self: (self.user + self.system) / 1e6 / seconds };
  };
  const baseline = await measure(() => sleep(WINDOW_MS));
  let reads = 0;
  let readMs = 0;
  const withMap = await measure(async () => {
    const end = Date.now() + WINDOW_MS;
    while (Date.now() < end) {
      const t = performance.now();
      await engine.clusterMap();
      readMs += performance.now() - t;
      reads += 1;
      await sleep(Math.max(0, MAP_POLL_MS - (performance.now() - t)));
    }
  });
  return { baseline, withMap, reads, readMs: readMs / reads };
}

export async function benchTrace(): Promise<void> {
  await ensureEngine();
  await ensureArtifacts();
  const engine = realLab(LAB);
  try {
    await engine.up(engine.lastChapter);
    await sleep(30_000);
    const idle = await auditRate(engine, async () => {});
    const rssWith = await apiServerRssMiB(engine);
    const map = await mapCost(engine);

    await onServer(engine, `${KUBECTL} create deployment bench --image=nginx:latest --replicas=2 && ${KUBECTL} expose deployment bench --port 80 && ${KUBECTL} rollout status deployment/bench --timeout=150s`);
    const latencies: number[] = [];
    let entries = 0;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      entries = (await engine.trace('deployment/bench')).entries.length;
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    const rollout = await auditRate(engine, () => onServer(engine, `${KUBECTL} rollout restart deployment/bench && ${KUBECTL} rollout status deployment/bench --timeout=150s`).then(() => undefined));
    await sleep(30_000);
    const rssWithAfter = await apiServerRssMiB(engine);

    // The same API server without its audit policy: it records nothing.
    await onServer(engine, `sed -i '/--audit-policy-file=/d' /etc/systemd/system/kube-apiserver.service && systemctl daemon-reload && systemctl restart kube-apiserver && for i in $(seq 60); do [ "$(${KUBECTL} get --raw /readyz 2>/dev/null)" = ok ] && break; sleep 1; done`);
    await sleep(30_000);
    const rssWithout = await apiServerRssMiB(engine);
    await onServer(engine, `${KUBECTL} rollout restart deployment/bench && ${KUBECTL} rollout status deployment/bench --timeout=150s`);
    await sleep(30_000);
    const rssWithoutAfter = await apiServerRssMiB(engine);

    const pct = (cores: number) => `${(cores * 100).toFixed(1)} %`;
    console.log(`trace: lab trace deployment/bench (2 replicas and a Service, just rolled out): ${latencies[1]!.toFixed(0)} ms median of 3 (${entries} entries)`);
    console.log(`trace: audit log on an idle cluster: ${idle.perMinute.toFixed(1)} lines/min (${idle.lines} in ${idle.seconds.toFixed(0)} s)`);
    console.log(`trace: audit log while a 2-replica deployment rolls: ${rollout.perMinute.toFixed(1)} lines/min (${rollout.lines} in ${rollout.seconds.toFixed(0)} s)`);
    console.log(`trace: kube-apiserver RSS with the audit policy: ${rssWith.toFixed(0)} MiB idle, ${rssWithAfter.toFixed(0)} MiB after a rollout`);
    console.log(`trace: kube-apiserver RSS without it (restarted): ${rssWithout.toFixed(0)} MiB idle, ${rssWithoutAfter.toFixed(0)} MiB after a rollout`);
    const cost = (k: keyof CpuShare) => pct(map.withMap[k] - map.baseline[k]);
    console.log(`trace: live map read every ${MAP_POLL_MS / 1000} s: ${map.readMs.toFixed(0)} ms per read (${map.reads} reads); it adds ${cost('machines')} of a core in the machines, ${cost('self')} in this process (target < 5 % together), and ${cost('engine')} in the Docker engine, which other labs on this host share (${pct(map.baseline.engine)} without the map)`);
  } finally {
    await engine.down();
  }
}

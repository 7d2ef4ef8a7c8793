import { existsSync, readFileSync } from 'node:fs';
import type { MachineProvider } from '../../vm/provider.ts';

/** Memory charged to a container's cgroup (v1 or v2 layout), as the kernel counts it. */
export function containerMemory(id: string): { usage: number; rss: number } | null {
  // Machines on a cgroup v1 + cgroupfs engine live under /hardway (vm/device-wall.ts), others under docker.
  const v1 = [`/sys/fs/cgroup/memory/hardway/${id}`, `/sys/fs/cgroup/memory/docker/${id}`].find((dir) => existsSync(dir));
  if (v1) {
    const stat = readFileSync(`${v1}/memory.stat`, 'utf8');
    const field = (key: string) => Number(stat.match(new RegExp(`^${key} (\\d+)$`, 'm'))?.[1] ?? 0);
    return { usage: Number(readFileSync(`${v1}/memory.usage_in_bytes`, 'utf8')), rss: field('total_rss') };
  }
  for (const v2 of [`/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`]) {
    if (existsSync(v2)) {
      const stat = readFileSync(`${v2}/memory.stat`, 'utf8');
      return { usage: Number(readFileSync(`${v2}/memory.current`, 'utf8')), rss: Number(stat.match(/^anon (\d+)$/m)?.[1] ?? 0) };
    }
  }
  return null;
}

/** The lab's machines together: memory charged to their cgroups and resident, in MiB. */
export async function labMemoryMiB(provider: MachineProvider, lab: string): Promise<{ charged: number; rss: number }> {
  const memory = (await provider.list(lab)).map((m) => containerMemory(m.containerId) ?? { usage: 0, rss: 0 });
  const MiB = 2 ** 20;
  return { charged: memory.reduce((sum, m) => sum + m.usage, 0) / MiB, rss: memory.reduce((sum, m) => sum + m.rss, 0) / MiB };
}

/** CPU time a container has used so far, in seconds (cgroup v1 cpuacct or v2 cpu.stat). */
export function containerCpuSeconds(id: string): number | null {
  const v1 = ['cpuacct', 'cpu,cpuacct'].flatMap((hierarchy) => ['hardway', 'docker'].map((parent) => `/sys/fs/cgroup/${hierarchy}/${parent}/${id}`));
  for (const dir of v1) {
    if (existsSync(`${dir}/cpuacct.usage`)) return Number(readFileSync(`${dir}/cpuacct.usage`, 'utf8')) / 1e9;
  }
  for (const dir of [`/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`]) {
    if (existsSync(`${dir}/cpu.stat`)) return Number(readFileSync(`${dir}/cpu.stat`, 'utf8').match(/^usage_usec (\d+)$/m)?.[1] ?? 0) / 1e6;
  }
  return null;
}

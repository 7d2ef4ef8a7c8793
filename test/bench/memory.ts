import { existsSync, readFileSync } from 'node:fs';

/** Memory charged to a container's cgroup (v1 or v2 layout), as the kernel counts it. */
export function containerMemory(id: string): { usage: number; rss: number } | null {
  const v1 = `/sys/fs/cgroup/memory/docker/${id}`;
  if (existsSync(v1)) {
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

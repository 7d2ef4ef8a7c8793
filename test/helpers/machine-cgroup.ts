import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';

/**
 * A file of a container's own cgroup, as the host sees it (cgroup v1: under the controller's
 * hierarchy; v2: the unified one), found from the cgroup of the container's first process.
 */
export async function hostCgroupFile(docker: Docker, container: string, controller: string, file: string): Promise<string> {
  const { State } = await docker.getContainer(container).inspect();
  const lines = readFileSync(`/proc/${State.Pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.map((l) => l.split(':')).find(([, controllers]) => controllers!.split(',').includes(controller));
  if (v1) {
    const mount = readdirController(controller);
    // The first process of a machine is systemd, which moves itself into init.scope: the container's cgroup is above it.
    return join(mount, v1[2]!.replace(/\/init\.scope$/, ''), file);
  }
  const unified = lines.find((l) => l.startsWith('0::'));
  if (!unified) throw new Error(`no ${controller} cgroup for ${container}`);
  return join('/sys/fs/cgroup', unified.slice(3).replace(/\/init\.scope$/, ''), file);
}

function readdirController(controller: string): string {
  for (const name of [controller, `${controller},${controller === 'cpu' ? 'cpuacct' : controller}`]) {
    const path = join('/sys/fs/cgroup', name);
    if (existsSync(path)) return path;
  }
  throw new Error(`no cgroup v1 mount for ${controller}`);
}

export function readNumber(path: string): number {
  const text = readFileSync(path, 'utf8').trim();
  return text === 'max' ? Infinity : Number(text);
}

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { promisify } from 'node:util';
import { probeEngine, type EngineState } from '../../vm/engine.ts';
import { loadManifest } from '../artifacts/manifest.ts';
import { cacheDir } from '../util/paths.ts';

const run = promisify(execFile);

export type CgroupLayout = 'v1' | 'hybrid' | 'v2' | 'none';

/** Everything the doctor looks at, gathered once so the verdicts can be pure functions. */
export interface HostFacts {
  engine: EngineState;
  totalMemoryBytes: number;
  cacheDir: string;
  cacheFreeBytes: number;
  goVersion: string | null;
  kubectlVersion: string | null;
  cgroupLayout: CgroupLayout;
  cgroupControllers: string[];
  /** v1 controllers the kernel enables but the host never mounted: Docker gives no container its own cgroup there. */
  unmountedCgroupControllers: string[];
  distro: { id: string; like: string[] };
  isRoot: boolean;
  /** fs.inotify.max_user_instances: every kubelet and containerd takes several, host-wide. */
  inotifyInstances: number | null;
  /** What a cgo source build (runc) lacks here: a C compiler, headers. */
  missingSourceBuildNeeds: string[];
}

export async function gatherHostFacts(): Promise<HostFacts> {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const [engine, goVersion, kubectlVersion, disk] = await Promise.all([
    probeEngine(),
    commandOutput('go', ['env', 'GOVERSION']),
    commandOutput('kubectl', ['version', '--client', '-o', 'json']).then(parseKubectlVersion),
    statfs(dir),
  ]);
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  return {
    engine,
    totalMemoryBytes: totalmem(),
    cacheDir: dir,
    cacheFreeBytes: disk.bavail * disk.bsize,
    goVersion,
    kubectlVersion,
    cgroupLayout: cgroupLayoutFrom(mountinfo),
    cgroupControllers: cgroupControllersFrom(mountinfo),
    unmountedCgroupControllers: unmountedCgroupControllersFrom(safeRead(PROC_CGROUPS), mountinfo),
    distro: readDistro(),
    isRoot: process.getuid?.() === 0,
    inotifyInstances: readNumber(INOTIFY_INSTANCES),
    missingSourceBuildNeeds: missingSourceBuildNeeds(),
  };
}

/** The C compiler and headers the manifest's cgo builds name (runc: gcc, seccomp.h). */
export function missingSourceBuildNeeds(root = '/usr/include', path = process.env.PATH ?? ''): string[] {
  const onPath = (command: string): boolean => path.split(':').some((dir) => dir && existsSync(`${dir}/${command}`));
  const headers = loadManifest().flatMap((component) => component.source?.needs?.headers ?? []);
  return [...(onPath('gcc') ? [] : ['gcc']), ...[...new Set(headers)].filter((header) => !existsSync(`${root}/${header}`))];
}

async function commandOutput(command: string, args: string[]): Promise<string | null> {
  try {
    const { stdout } = await run(command, args, { timeout: 10_000 });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

function parseKubectlVersion(json: string | null): string | null {
  if (!json) return null;
  try {
    return (JSON.parse(json) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? null;
  } catch {
    return null;
  }
}

/** Mount points and filesystem types from /proc/self/mountinfo ("... mountpoint ... - fstype source opts"). */
function mounts(mountinfo: string): { point: string; fstype: string; options: string }[] {
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left = '', right = ''] = line.split(' - ');
      const [fstype = '', , superOptions = ''] = right.split(' ');
      return { point: left.split(' ')[4] ?? '', fstype, options: superOptions };
    });
}

export function cgroupLayoutFrom(mountinfo: string): CgroupLayout {
  const all = mounts(mountinfo);
  const root = all.find((m) => m.point === '/sys/fs/cgroup');
  if (root?.fstype === 'cgroup2') return 'v2';
  const hasV1 = all.some((m) => m.fstype === 'cgroup');
  if (!hasV1) return 'none';
  return all.some((m) => m.fstype === 'cgroup2') ? 'hybrid' : 'v1';
}

export function cgroupControllersFrom(mountinfo: string): string[] {
  const known = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer', 'blkio'];
  const found = new Set<string>();
  for (const mount of mounts(mountinfo).filter((m) => m.fstype === 'cgroup')) {
    for (const option of mount.options.split(',')) if (known.includes(option)) found.add(option);
  }
  const v2 = mounts(mountinfo).find((m) => m.point === '/sys/fs/cgroup' && m.fstype === 'cgroup2');
  if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    for (const name of readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(/\s+/)) found.add(name);
  }
  return [...found].sort();
}

/** Whether the tmpfs that holds the v1 hierarchies is mounted read-only (new mount points need it writable). */
export function cgroupRootReadOnly(mountinfo: string): boolean {
  const root = mounts(mountinfo).find((m) => m.point === '/sys/fs/cgroup');
  return root?.options.split(',').includes('ro') ?? false;
}

export const PROC_CGROUPS = '/proc/cgroups';

/** Enabled v1 controllers, with the hierarchy each is attached to (controllers mounted together share one). */
export function enabledV1Controllers(procCgroups: string): { name: string; hierarchy: number }[] {
  return procCgroups
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(/\s+/))
    .filter(([, hierarchy, , enabled]) => enabled === '1' && Number(hierarchy) > 0)
    .map(([name = '', hierarchy]) => ({ name, hierarchy: Number(hierarchy) }));
}

/** On a v1 or hybrid host, the enabled v1 controllers that no cgroup mount carries. */
export function unmountedCgroupControllersFrom(procCgroups: string, mountinfo: string): string[] {
  const layout = cgroupLayoutFrom(mountinfo);
  if (layout !== 'v1' && layout !== 'hybrid') return [];
  const mounted = new Set(mounts(mountinfo).filter((m) => m.fstype === 'cgroup').flatMap((m) => m.options.split(',')));
  return enabledV1Controllers(procCgroups).map((c) => c.name).filter((name) => !mounted.has(name)).sort();
}

export function readDistro(osRelease = safeRead('/etc/os-release')): { id: string; like: string[] } {
  const field = (key: string): string =>
    osRelease.match(new RegExp(`^${key}=("?)([^"\\n]*)\\1$`, 'm'))?.[2] ?? '';
  return { id: field('ID'), like: field('ID_LIKE').split(/\s+/).filter(Boolean) };
}

export const INOTIFY_INSTANCES = '/proc/sys/fs/inotify/max_user_instances';

function readNumber(path: string): number | null {
  const value = Number(safeRead(path).trim());
  return safeRead(path) && Number.isFinite(value) ? value : null;
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

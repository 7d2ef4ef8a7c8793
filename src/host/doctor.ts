import type { HostFacts } from './facts.ts';

export type Verdict = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  verdict: Verdict;
  detail: string;
  /** The exact command (or action) that fixes it. */
  fix?: string;
}

const GiB = 1024 ** 3;
export const MIN_GO = [1, 25] as const;

/** Judges the host. `lab up` can work exactly when no result is a failure. */
export function diagnose(facts: HostFacts): CheckResult[] {
  return [
    engineCheck(facts),
    memoryCheck(facts.totalMemoryBytes),
    diskCheck(facts.cacheFreeBytes, facts.cacheDir),
    cgroupCheck(facts),
    cgroupDriverCheck(facts.cgroupLayout),
    goCheck(facts.goVersion),
    sourceBuildCheck(facts),
    kubectlCheck(facts.kubectlVersion),
    inotifyCheck(facts.inotifyInstances),
  ];
}

/**
 * Measured: a full lab (chapter 14) holds 54 inotify instances (counted over every process of its
 * four machines: systemd, containerd, the kubelets...), and the limit is the host's root user's, shared by every lab: the
 * old 512 stopped the eleventh lab's machines while they booted. 8192 leaves room for a full room and more.
 */
export const INOTIFY_INSTANCES_PER_LAB = 54;
export const WANTED_INOTIFY_INSTANCES = 8192;

function inotifyCheck(instances: number | null): CheckResult {
  const name = 'inotify';
  if (instances === null) return { name, verdict: 'ok', detail: 'limit unknown' };
  if (instances < WANTED_INOTIFY_INSTANCES) {
    return { name, verdict: 'warn', detail: `max_user_instances is ${instances}: enough for about ${Math.floor(instances / INOTIFY_INSTANCES_PER_LAB)} full labs at once`, fix: `lab setup (raises it to ${WANTED_INOTIFY_INSTANCES})` };
  }
  return { name, verdict: 'ok', detail: `max_user_instances ${instances}` };
}

export function hostIsReady(results: CheckResult[]): boolean {
  return results.every((result) => result.verdict !== 'fail');
}

function engineCheck({ engine }: HostFacts): CheckResult {
  const name = 'docker engine';
  if (engine.reachable) {
    return { name, verdict: 'ok', detail: `Docker ${engine.version} (API ${engine.apiVersion}), cgroup driver ${engine.cgroupDriver}` };
  }
  switch (engine.reason) {
    case 'unreachable-host':
      return {
        name,
        verdict: 'fail',
        detail: `DOCKER_HOST=${process.env.DOCKER_HOST} does not answer (${engine.detail})`,
        fix: 'start that engine, or unset DOCKER_HOST to use the local one',
      };
    case 'no-engine-installed':
      return { name, verdict: 'fail', detail: 'no Docker engine is installed', fix: 'lab setup' };
    case 'not-running':
      return { name, verdict: 'fail', detail: 'dockerd is installed but not running', fix: 'lab setup' };
  }
}

function memoryCheck(total: number): CheckResult {
  const name = 'memory';
  const detail = `${(total / GiB).toFixed(1)} GiB total`;
  if (total < 2 * GiB) return { name, verdict: 'fail', detail: `${detail}; a lab needs at least 2 GiB`, fix: 'use a machine with 4 GiB or more' };
  if (total < 4 * GiB) return { name, verdict: 'warn', detail: `${detail}; 4 GiB or more is comfortable` };
  return { name, verdict: 'ok', detail };
}

function diskCheck(free: number, dir: string): CheckResult {
  const name = 'disk';
  const detail = `${(free / GiB).toFixed(1)} GiB free for ${dir}`;
  if (free < 3 * GiB) {
    return { name, verdict: 'fail', detail: `${detail}; machine images and binaries need 3 GiB`, fix: `free space, or point HARDWAY_CACHE at a larger disk` };
  }
  if (free < 15 * GiB) return { name, verdict: 'warn', detail: `${detail}; building Kubernetes from source needs about 15 GiB` };
  return { name, verdict: 'ok', detail };
}

function cgroupCheck({ cgroupLayout, cgroupControllers, unmountedCgroupControllers }: HostFacts): CheckResult {
  const name = 'cgroups';
  if (cgroupLayout === 'none') {
    return { name, verdict: 'fail', detail: 'no cgroup filesystem is mounted', fix: 'mount cgroups at /sys/fs/cgroup (containers cannot run without them)' };
  }
  const missing = ['cpu', 'memory', 'pids'].filter((c) => !cgroupControllers.includes(c));
  if (missing.length > 0) {
    return { name, verdict: 'fail', detail: `controllers missing: ${missing.join(', ')}`, fix: 'enable them on the kernel command line (cgroup_enable=...)' };
  }
  if (unmountedCgroupControllers.length > 0) {
    return {
      name,
      verdict: 'warn',
      detail: `v1 controllers ${unmountedCgroupControllers.join(', ')} are not mounted, so every machine shares them and one node's kubelet sees another's pods`,
      fix: 'lab setup (mounts them)',
    };
  }
  const layout = { v1: 'cgroup v1', hybrid: 'cgroup v1 (hybrid, v2 unused)', v2: 'cgroup v2' }[cgroupLayout];
  return { name, verdict: 'ok', detail: `${layout}; controllers ${cgroupControllers.join(' ')}` };
}

/**
 * Which cgroup driver the lab's workers use on this host. systemd is PID 1 of every machine and owns
 * its cgroup tree on cgroup v2 and v1 hosts alike (seen working on both), so containerd
 * (SystemdCgroup = true) and the kubelet (cgroupDriver: systemd) use it everywhere, as KTHW does.
 */
export function cgroupDriverFor(_layout: HostFacts['cgroupLayout']): 'systemd' {
  return 'systemd';
}

function cgroupDriverCheck(layout: HostFacts['cgroupLayout']): CheckResult {
  const name = 'cgroup driver';
  if (layout === 'none') return { name, verdict: 'ok', detail: 'none until cgroups are mounted' };
  const version = layout === 'v2' ? 'cgroup v2' : 'cgroup v1';
  return { name, verdict: 'ok', detail: `${cgroupDriverFor(layout)} on this ${version} host: the machines run systemd, so containerd (SystemdCgroup = true) and the kubelet (cgroupDriver: systemd) both use it` };
}

/** Building runc from source links libseccomp with cgo: only worth saying when Go is there to build at all. */
function sourceBuildCheck({ goVersion, missingSourceBuildNeeds }: HostFacts): CheckResult {
  const name = 'source builds';
  if (!goVersion) return { name, verdict: 'ok', detail: 'skipped (no Go toolchain)' };
  if (missingSourceBuildNeeds.length > 0) {
    return { name, verdict: 'warn', detail: `runc's source build needs ${missingSourceBuildNeeds.join(', ')} (only when building offline)`, fix: 'lab setup (installs gcc, pkg-config and libseccomp-dev)' };
  }
  return { name, verdict: 'ok', detail: 'C compiler and libseccomp headers present (for runc)' };
}

export function parseGoVersion(text: string): [number, number] | null {
  const match = text.match(/go(\d+)\.(\d+)/);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

function goCheck(goVersion: string | null): CheckResult {
  const name = 'go toolchain';
  const why = 'needed only to build Kubernetes from source when offline';
  const parsed = goVersion ? parseGoVersion(goVersion) : null;
  if (!parsed) return { name, verdict: 'warn', detail: `not found (${why})`, fix: `install Go ${MIN_GO.join('.')} or newer from go.dev` };
  const [major, minor] = parsed;
  if (major < MIN_GO[0] || (major === MIN_GO[0] && minor < MIN_GO[1])) {
    return { name, verdict: 'warn', detail: `${goVersion} is older than go${MIN_GO.join('.')} (${why})`, fix: `install Go ${MIN_GO.join('.')} or newer` };
  }
  return { name, verdict: 'ok', detail: goVersion! };
}

function kubectlCheck(version: string | null): CheckResult {
  const name = 'kubectl';
  if (!version) return { name, verdict: 'warn', detail: 'not on PATH (optional: the jumpbox has its own)' };
  return { name, verdict: 'ok', detail: version };
}

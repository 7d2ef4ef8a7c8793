import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { sourceBuildPackages } from '../artifacts/manifest.ts';
import { LabError } from '../util/errors.ts';
import { say } from '../util/output.ts';
import { dockerdInstalled, probeEngine } from '../../vm/engine.ts';
import { WANTED_INOTIFY_INSTANCES } from './doctor.ts';
import { cgroupRootReadOnly, enabledV1Controllers, INOTIFY_INSTANCES, PROC_CGROUPS, readDistro, unmountedCgroupControllersFrom } from './facts.ts';

/** Debian packages the labs need on the host: the engine, and tools to build machine images locally. */
export const HOST_PACKAGES = ['docker.io', 'debootstrap', 'busybox-static', 'catatonit', 'skopeo', 'iptables', 'ca-certificates', 'tar', 'xz-utils'];
/**
 * Installed where the distribution has them: Debian 13 moved the `docker` command out of docker.io
 * into docker-cli, which docker.io only recommends (and lab setup installs without recommends).
 */
export const HOST_PACKAGES_WHERE_AVAILABLE = ['docker-cli'];
/** Extra packages for developing hardway itself: the browser the UI tests drive. */
export const DEV_PACKAGES = ['chromium', 'time'];

export const DOCKERD_LOG = '/var/log/hardway-dockerd.log';

export interface SetupOptions {
  dev: boolean;
}

/** Installs what is missing and starts the engine; says so when there was nothing to do. */
export async function setupHost(options: SetupOptions): Promise<void> {
  const wanted = [...HOST_PACKAGES, ...(options.dev ? DEV_PACKAGES : []), ...sourceBuildPackagesWanted()];
  const missing = [
    ...wanted.filter((name) => !packageInstalled(name)),
    ...HOST_PACKAGES_WHERE_AVAILABLE.filter((name) => !packageInstalled(name) && packageAvailable(name)),
  ];
  let changed = false;

  if (missing.length > 0) {
    requireDebianRoot(missing);
    say(`Installing ${missing.join(', ')} from the distribution's packages…`);
    aptInstall(missing);
    changed = true;
  }

  const engine = await probeEngine();
  if (!engine.reachable) {
    if (engine.reason === 'unreachable-host') {
      throw new LabError(`DOCKER_HOST=${process.env.DOCKER_HOST} does not answer`, 'start that engine, or unset DOCKER_HOST to use a local one');
    }
    await startEngine();
    changed = true;
  }

  if (raiseInotifyLimit()) changed = true;
  if (mountMissingCgroupControllers()) changed = true;

  say(changed ? 'Host is set up. Check it with: lab doctor' : 'Nothing to change: packages are installed and the Docker engine answers.');
}

/**
 * Building from source (offline) needs Go, which lab setup does not install; where Go is, the C
 * side of runc's build (gcc, pkg-config, libseccomp-dev) comes from the distribution's packages.
 */
export function sourceBuildPackagesWanted(goOnPath = onPath('go'), sources = process.env.HARDWAY_SOURCES ?? 'source'): string[] {
  return goOnPath && sources.split(',').map((s) => s.trim()).includes('source') ? sourceBuildPackages() : [];
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(`${dir}/${command}`));
}

/** Several labs' kubelets exhaust the default of 128 inotify instances (kind documents the same). */
function raiseInotifyLimit(): boolean {
  const current = Number(readFileSync(INOTIFY_INSTANCES, 'utf8').trim());
  if (!(current < WANTED_INOTIFY_INSTANCES) || process.getuid?.() !== 0) return false;
  try {
    writeFileSync(INOTIFY_INSTANCES, String(WANTED_INOTIFY_INSTANCES));
    say(`Raised fs.inotify.max_user_instances from ${current} to ${WANTED_INOTIFY_INSTANCES}, so several labs can run at once.`);
    return true;
  } catch {
    return false;
  }
}

/**
 * On a cgroup v1 host, Docker puts a container in its own cgroup only in the hierarchies the host has
 * mounted; in any other (often hugetlb, net_cls,net_prio, perf_event) all machines share the root, and
 * each node's kubelet finds the other nodes' pod cgroups there and tries to remove them as orphans.
 * Mount those hierarchies where systemd would, so new machines get their own.
 */
function mountMissingCgroupControllers(): boolean {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const procCgroups = readFileSync(PROC_CGROUPS, 'utf8');
  const missing = unmountedCgroupControllersFrom(procCgroups, mountinfo);
  if (missing.length === 0 || process.getuid?.() !== 0) return false;
  const hierarchies = new Map<number, string[]>();
  for (const { name, hierarchy } of enabledV1Controllers(procCgroups)) {
    if (missing.includes(name)) hierarchies.set(hierarchy, [...(hierarchies.get(hierarchy) ?? []), name]);
  }
  const root = '/sys/fs/cgroup';
  const readOnly = cgroupRootReadOnly(mountinfo);
  try {
    if (readOnly) execFileSync('mount', ['-o', 'remount,rw', root]);
    for (const names of hierarchies.values()) {
      const point = `${root}/${names.join(',')}`;
      mkdirSync(point, { recursive: true });
      execFileSync('mount', ['-t', 'cgroup', '-o', names.join(','), 'cgroup', point]);
      for (const name of names) if (names.length > 1 && !existsSync(`${root}/${name}`)) symlinkSync(names.join(','), `${root}/${name}`);
    }
  } catch (error) {
    say(`Could not mount the cgroup controllers ${missing.join(', ')} (${(error as Error).message.split('\n')[0]}); machines will share them.`);
    return false;
  } finally {
    if (readOnly) spawnSync('mount', ['-o', 'remount,ro', root]);
  }
  say(`Mounted the cgroup v1 controllers ${missing.join(', ')}, so each machine gets its own cgroup in them.`);
  return true;
}

export function packageInstalled(name: string): boolean {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

/** Whether the package sources offer a package of that name (apt-cache exits 0 with nothing for unknown names). */
export function packageAvailable(name: string): boolean {
  const result = spawnSync('apt-cache', ['show', '--no-all-versions', name], { encoding: 'utf8' });
  return result.status === 0 && /^Package: /m.test(result.stdout);
}

function requireDebianRoot(missing: string[]): void {
  const distro = readDistro();
  const debianLike = [distro.id, ...distro.like].some((id) => id === 'debian' || id === 'ubuntu');
  if (!debianLike) {
    throw new LabError(
      `this host is not Debian or Ubuntu, so lab setup cannot install: ${missing.join(', ')}`,
      'install those (a Docker engine, debootstrap, busybox-static) with your system\'s package manager, then run lab doctor',
    );
  }
  if (process.getuid?.() !== 0) {
    throw new LabError(`installing ${missing.join(', ')} needs root`, 'run: sudo npx lab setup');
  }
}

function aptInstall(packages: string[]): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...packages]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) {
      throw new LabError(`apt-get ${args[0]} failed (exit ${result.status})`, 'check the output above, fix the package sources, and run lab setup again');
    }
  }
}

/** Starts dockerd under systemd when the host runs it, else as a background process logging to DOCKERD_LOG. */
export async function startEngine(timeoutMs = 60_000): Promise<void> {
  if (!dockerdInstalled()) throw new LabError('dockerd is not installed', 'run: lab setup');
  if (existsSync('/run/systemd/system')) {
    say('Starting the Docker engine (systemctl start docker)…');
    execFileSync('systemctl', ['start', 'docker'], { stdio: 'inherit' });
  } else {
    say(`Starting the Docker engine (dockerd, log in ${DOCKERD_LOG})…`);
    const log = openSync(DOCKERD_LOG, 'a');
    spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).unref();
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await probeEngine(undefined, 2000)).reachable) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new LabError(`dockerd did not answer within ${timeoutMs / 1000} s`, `read ${DOCKERD_LOG} for the reason`);
}

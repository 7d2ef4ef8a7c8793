import { describe, expect, it } from 'vitest';
import { diagnose, hostIsReady, parseGoVersion } from '../../../src/host/doctor.ts';
import { cgroupControllersFrom, cgroupLayoutFrom, cgroupRootReadOnly, enabledV1Controllers, readDistro, unmountedCgroupControllersFrom, type HostFacts } from '../../../src/host/facts.ts';

const GiB = 1024 ** 3;

const healthy: HostFacts = {
  engine: { reachable: true, version: '20.10.24', apiVersion: '1.41', cgroupDriver: 'cgroupfs', cgroupVersion: '1' },
  totalMemoryBytes: 16 * GiB,
  cacheDir: '/tmp/cache',
  cacheFreeBytes: 50 * GiB,
  goVersion: 'go1.26.8',
  kubectlVersion: 'v1.35.8',
  cgroupLayout: 'hybrid',
  cgroupControllers: ['cpu', 'memory', 'pids'],
  unmountedCgroupControllers: [],
  distro: { id: 'debian', like: [] },
  isRoot: true,
  inotifyInstances: 8192,
  missingSourceBuildNeeds: [],
};

const verdictOf = (facts: HostFacts, name: string) => diagnose(facts).find((r) => r.name === name)!;

describe('doctor verdicts', () => {
  it('says which cgroup driver the workers get, and that containerd and the kubelet agree on it, on either kind of host', () => {
    expect(verdictOf({ ...healthy, cgroupLayout: 'v2' }, 'cgroup driver').detail).toMatch(/^systemd on this cgroup v2 host: .*SystemdCgroup = true.*cgroupDriver: systemd/);
    expect(verdictOf({ ...healthy, cgroupLayout: 'hybrid' }, 'cgroup driver').detail).toMatch(/^systemd on this cgroup v1 host: .*SystemdCgroup = true.*cgroupDriver: systemd/);
    expect(verdictOf({ ...healthy, cgroupLayout: 'v1' }, 'cgroup driver').verdict).toBe('ok');
  });

  it('warns when runc could not be built from source, only where Go is', () => {
    expect(verdictOf({ ...healthy, missingSourceBuildNeeds: ['seccomp.h'] }, 'source builds')).toMatchObject({ verdict: 'warn', fix: expect.stringContaining('lab setup') });
    expect(verdictOf({ ...healthy, goVersion: null, missingSourceBuildNeeds: ['seccomp.h'] }, 'source builds').verdict).toBe('ok');
  });

  it('passes a healthy host', () => {
    const results = diagnose(healthy);
    expect(results.every((r) => r.verdict === 'ok')).toBe(true);
    expect(hostIsReady(results)).toBe(true);
  });

  it('fails a stopped engine and names lab setup as the fix', () => {
    const facts = { ...healthy, engine: { reachable: false as const, reason: 'not-running' as const, detail: 'ECONNREFUSED' } };
    const engine = verdictOf(facts, 'docker engine');
    expect(engine.verdict).toBe('fail');
    expect(engine.detail).toMatch(/not running/);
    expect(engine.fix).toBe('lab setup');
    expect(hostIsReady(diagnose(facts))).toBe(false);
  });

  it('fails a missing engine', () => {
    const facts = { ...healthy, engine: { reachable: false as const, reason: 'no-engine-installed' as const, detail: 'ENOENT' } };
    expect(verdictOf(facts, 'docker engine')).toMatchObject({ verdict: 'fail', fix: 'lab setup' });
  });

  it('only warns about a missing Go toolchain or kubectl', () => {
    const facts = { ...healthy, goVersion: null, kubectlVersion: null };
    expect(verdictOf(facts, 'go toolchain').verdict).toBe('warn');
    expect(verdictOf(facts, 'kubectl').verdict).toBe('warn');
    expect(hostIsReady(diagnose(facts))).toBe(true);
  });

  it('warns about an old Go', () => {
    expect(verdictOf({ ...healthy, goVersion: 'go1.19.8' }, 'go toolchain').verdict).toBe('warn');
    expect(parseGoVersion('go1.26.8')).toEqual([1, 26]);
  });

  it('grades memory and disk by thresholds', () => {
    expect(verdictOf({ ...healthy, totalMemoryBytes: 1 * GiB }, 'memory').verdict).toBe('fail');
    expect(verdictOf({ ...healthy, totalMemoryBytes: 3 * GiB }, 'memory').verdict).toBe('warn');
    expect(verdictOf({ ...healthy, cacheFreeBytes: 1 * GiB }, 'disk').verdict).toBe('fail');
    expect(verdictOf({ ...healthy, cacheFreeBytes: 10 * GiB }, 'disk').verdict).toBe('warn');
  });

  it('warns when the inotify limit allows only a few clusters', () => {
    expect(verdictOf({ ...healthy, inotifyInstances: 128 }, 'inotify')).toMatchObject({ verdict: 'warn', fix: 'lab setup (raises it to 8192)' });
    // 512 was the old default here: under it the eleventh full lab's machines did not boot
    expect(verdictOf({ ...healthy, inotifyInstances: 512 }, 'inotify')).toMatchObject({ verdict: 'warn', detail: expect.stringMatching(/about 9 full labs/) });
    expect(hostIsReady(diagnose({ ...healthy, inotifyInstances: 128 }))).toBe(true);
  });

  it('fails when cgroup controllers are missing', () => {
    expect(verdictOf({ ...healthy, cgroupControllers: ['cpu'] }, 'cgroups')).toMatchObject({ verdict: 'fail' });
    expect(verdictOf({ ...healthy, cgroupLayout: 'none' }, 'cgroups')).toMatchObject({ verdict: 'fail' });
  });

  it('warns when v1 controllers are enabled but unmounted, and names lab setup', () => {
    const result = verdictOf({ ...healthy, unmountedCgroupControllers: ['hugetlb', 'perf_event'] }, 'cgroups');
    expect(result).toMatchObject({ verdict: 'warn', fix: 'lab setup (mounts them)' });
    expect(result.detail).toMatch(/hugetlb, perf_event are not mounted/);
  });
});

describe('host facts parsing', () => {
  const hybrid = [
    '30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate',
    '32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd',
    '33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
    '34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
    '35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids',
  ].join('\n');

  it('recognises a hybrid cgroup layout and its v1 controllers', () => {
    expect(cgroupLayoutFrom(hybrid)).toBe('hybrid');
    expect(cgroupControllersFrom(hybrid)).toEqual(['cpu', 'cpuacct', 'memory', 'pids']);
  });

  const procCgroups = [
    '#subsys_name\thierarchy\tnum_cgroups\tenabled',
    'cpu\t1\t111\t1',
    'cpuacct\t1\t51\t1',
    'memory\t4\t330\t1',
    'pids\t8\t169\t1',
    'net_cls\t12\t32\t1',
    'net_prio\t12\t32\t1',
    'hugetlb\t10\t32\t1',
    'rdma\t0\t1\t1',
    'misc\t9\t1\t0',
  ].join('\n');

  it('finds the enabled v1 controllers no mount carries (hierarchy 0 is v2-only, disabled ones are skipped)', () => {
    expect(enabledV1Controllers(procCgroups).find((c) => c.name === 'net_prio')).toEqual({ name: 'net_prio', hierarchy: 12 });
    expect(unmountedCgroupControllersFrom(procCgroups, hybrid)).toEqual(['hugetlb', 'net_cls', 'net_prio']);
    expect(unmountedCgroupControllersFrom(procCgroups, '30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw')).toEqual([]);
  });

  it('sees that the cgroup tmpfs is read-only', () => {
    expect(cgroupRootReadOnly(hybrid)).toBe(true);
    expect(cgroupRootReadOnly(hybrid.replace('tmpfs tmpfs ro,mode', 'tmpfs tmpfs rw,mode'))).toBe(false);
  });

  it('recognises v2 and a host with no cgroups', () => {
    expect(cgroupLayoutFrom('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw')).toBe('v2');
    expect(cgroupLayoutFrom('1 0 0:1 / / rw - ext4 /dev/vda rw')).toBe('none');
  });

  it('reads the distribution from os-release', () => {
    expect(readDistro('ID=ubuntu\nID_LIKE=debian\n')).toEqual({ id: 'ubuntu', like: ['debian'] });
    expect(readDistro('ID="fedora"\n')).toEqual({ id: 'fedora', like: [] });
  });
});

import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { beforeEach, describe, expect, it } from 'vitest';
import { BuildTracker, buildDir, hostBinaries, logFile, readBuild, runBuild, startBackgroundBuild, statusFile } from '../../../src/artifacts/background.ts';
import { describeBuild, type BuildStatus } from '../../../src/artifacts/build-status.ts';
import { componentsOfSets, findComponent } from '../../../src/artifacts/manifest.ts';
import { reportingTo } from '../../../src/util/output.ts';

const etcd = findComponent('etcd')!;
const quiet = { update: () => {}, done: () => {}, say: () => {}, warn: () => {} };
const status = (): BuildStatus => JSON.parse(readFileSync(statusFile(), 'utf8')) as BuildStatus;

/** A folder with etcd's binaries as scripts that report the pinned version (or lacking `missing`). */
function fakeEtcd(missing: string[] = []): string {
  const folder = mkdtempSync(join(tmpdir(), 'hardway-bin-'));
  for (const binary of etcd.binaries.filter((b) => !missing.includes(b))) writeFileSync(join(folder, binary), `#!/bin/sh\necho "etcd Version: ${etcd.version.slice(1)}"\n`, { mode: 0o755 });
  return folder;
}

/** Holds the host's build lock as another process's build would. */
async function holdLock(): Promise<() => Promise<void>> {
  mkdirSync(buildDir(), { recursive: true });
  return lockfile.lock(buildDir(), { lockfilePath: join(buildDir(), 'build.lock'), realpath: false, stale: 60_000, update: 15_000 });
}

beforeEach(() => {
  process.env.HARDWAY_CACHE = mkdtempSync(join(tmpdir(), 'hardway-cache-'));
});

describe('the status of a build of binaries', () => {
  it('counts the course\'s 18 binaries and says which one it is on, in the shared words', () => {
    mkdirSync(buildDir(), { recursive: true });
    const course = componentsOfSets(['course']);
    const tracker = new BuildTracker(course, logFile(), () => 1000);
    const kubernetes = course.find((c) => c.name === 'kubernetes')!;
    tracker.onBinary(kubernetes, 'kube-scheduler', 'source');
    expect(status()).toMatchObject({ state: 'building', total: 18, position: 3, current: { component: 'kubernetes v1.34.4', binary: 'kube-scheduler', source: 'source' } });
    expect(describeBuild(status(), 1000)).toBe('building kube-scheduler (3 of 18), 0 s so far');
    tracker.landed(kubernetes, true);
    expect(status()).toMatchObject({ position: 6, ready: ['kubernetes v1.34.4'] });
    expect(course.map((c) => c.version)).not.toContain('v1.35.8');
  });

  it('a build whose process went away without a word is interrupted, not building', async () => {
    mkdirSync(buildDir(), { recursive: true });
    new BuildTracker([etcd], logFile());
    expect((await readBuild())?.state).toBe('interrupted');
    const release = await holdLock();
    try {
      expect((await readBuild())?.state).toBe('building');
    } finally {
      await release();
    }
  });
});

describe('one build per host, under a lock', () => {
  it('obtains what is missing, saying so over the status file and the log, then lets go of the lock', async () => {
    const announced: string[] = [];
    const outcome = await reportingTo(quiet, () => runBuild([etcd], { sources: ['local'], binDir: fakeEtcd() }, { background: true, announce: (m) => announced.push(m) }));
    expect(outcome).toBe('built');
    expect(announced).toEqual(['building']);
    expect(status()).toMatchObject({ state: 'done', components: ['etcd v3.6.8'], total: 3, position: 3, ready: ['etcd v3.6.8'], log: logFile() });
    expect(readFileSync(logFile(), 'utf8')).toMatch(/building etcd v3\.6\.8\n[\s\S]*etcd v3\.6\.8: ready \(from local\)/);
    expect(await hostBinaries.state(['course'])).toMatchObject({ missing: expect.not.arrayContaining(['etcd v3.6.8']) });
    expect((await hostBinaries.state(['course'])).missing).toContain('kubernetes v1.34.4');
    // nothing left to do: a second build obtains nothing, and leaves the first one's status
    const first = status();
    await reportingTo(quiet, () => runBuild([etcd], { sources: ['local'], binDir: fakeEtcd() }, { background: true }));
    expect(status()).toEqual(first);
  });

  it('in the background, gives up at once while another build holds the lock, leaving its status alone', async () => {
    const release = await holdLock();
    try {
      const announced: string[] = [];
      expect(await runBuild([etcd], { sources: ['local'], binDir: fakeEtcd() }, { background: true, announce: (m) => announced.push(m) })).toBe('busy');
      expect(announced).toEqual(['busy']);
      expect(existsSync(statusFile())).toBe(false);
    } finally {
      await release();
    }
  });

  it('in the foreground, waits for the other build to finish, then builds', async () => {
    const release = await holdLock();
    const lines: string[] = [];
    const sink = { ...quiet, update: (l: string, d: string) => void lines.push(`${l}: ${d}`) };
    const run = reportingTo(sink, () => runBuild([etcd], { sources: ['local'], binDir: fakeEtcd() }, { background: false }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lines[0]).toMatch(/^waiting for the background build: /);
    await release();
    expect(await run).toBe('built');
  }, 10_000);

  it('a build that fails records why, with its log, and throws what obtaining threw', async () => {
    await expect(reportingTo(quiet, () => runBuild([etcd], { sources: ['local'], binDir: fakeEtcd(['etcdutl']) }, { background: true }))).rejects.toThrow(/could not obtain etcd v3\.6\.8: local: .* lacks etcdutl/);
    const failed = status();
    expect(failed.state).toBe('failed');
    expect(describeBuild(failed)).toMatch(/^the build of etcd v3\.6\.8 failed: could not obtain etcd/);
    expect(failed.error?.next).toMatch(/lab artifacts fetch/);
    expect(readFileSync(logFile(), 'utf8')).toMatch(/error: could not obtain etcd/);
    expect(await lockfile.check(buildDir(), { lockfilePath: join(buildDir(), 'build.lock'), realpath: false })).toBe(false);
  });
});

describe('starting the background build', () => {
  it('returns once its process says it builds, leaving it to run on', async () => {
    const script = "process.send('building', () => process.disconnect()); setTimeout(() => {}, 300)";
    const started = Date.now();
    await startBackgroundBuild(['course'], [process.execPath, '-e', script]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(statusFile())).toBe(false);
  });

  it('a process that ends before it builds is a failed build, with the reason and the log', async () => {
    await startBackgroundBuild(['course'], [process.execPath, '-e', 'process.exit(3)']);
    const failed = await readBuild();
    expect(failed).toMatchObject({ state: 'failed', log: logFile() });
    expect(failed?.error?.message).toBe('the background build did not start: it ended (exit code 3) before it started building');
  });

  it('starts nothing while a build runs', async () => {
    const release = await holdLock();
    try {
      await startBackgroundBuild(['course'], [process.execPath, '-e', 'process.exit(3)']);
      expect(existsSync(statusFile())).toBe(false);
    } finally {
      await release();
    }
  });
});

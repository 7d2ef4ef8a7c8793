import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerProvider } from '../../../vm/docker-provider.ts';
import { loadCourse } from '../../../src/engine/course.ts';
import { checkHealth, loadHealth } from '../../../src/engine/faults.ts';
import type { LabEngine } from '../../../src/engine/lab.ts';
import { checkStep } from '../../../src/engine/runner.ts';
import type { Snapshot } from '../../../src/engine/snapshots.ts';
import { ensureArtifacts } from '../../helpers/artifacts.ts';
import { ensureEngine, realLab } from '../../helpers/engine.ts';

const FIRST = `it-snap-a-${process.pid.toString(36)}`;
const SECOND = `it-snap-b-${process.pid.toString(36)}`;
const STATE = mkdtempSync(join(tmpdir(), 'hardway-snapshot-state-'));
const EXPORT = mkdtempSync(join(tmpdir(), 'hardway-snapshot-export-'));
const CHAPTERS = loadCourse();
const LAST = Math.max(...CHAPTERS.map((c) => c.number));
const MARKER = '/root/.made-before-the-snapshot';

describe('a snapshot at the last chapter, restored into a new lab on another subnet', () => {
  const provider = new DockerProvider();
  let first: LabEngine;
  let second: LabEngine;
  let snapshot: Snapshot | undefined;

  beforeAll(async () => {
    process.env.HARDWAY_STATE = STATE;
    await ensureEngine();
    await ensureArtifacts();
    first = realLab(FIRST, provider);
    second = realLab(SECOND, provider);
    await first.up(LAST, { snapshots: false });
  }, 1_200_000);

  afterAll(async () => {
    await provider.deleteLab(FIRST);
    await provider.deleteLab(SECOND);
    if (snapshot) await provider.removeSnapshot(snapshot.id);
    rmSync(EXPORT, { recursive: true, force: true });
    rmSync(STATE, { recursive: true, force: true });
  }, 300_000);

  it('keeps the lab at the end of the chapter before the last, with its passed steps, and the lab goes on', { timeout: 600_000 }, async () => {
    expect((await provider.exec(FIRST, 'jumpbox', ['touch', MARKER])).exitCode).toBe(0);
    snapshot = await first.snapshot();
    expect(snapshot.chapter).toBe(LAST - 1);
    const before = CHAPTERS.filter((c) => c.number < LAST).flatMap((c) => c.steps.map((s) => `${c.number}/${s.id}`));
    expect([...snapshot.passed].sort()).toEqual(before.sort());
    expect(snapshot.sizeBytes).toBeGreaterThan(100e6);
    const listed = await first.snapshots();
    expect(listed.find((l) => l.snapshot.id === snapshot!.id)?.usable).toBe(true);
    expect(await checkHealth(provider, FIRST, loadHealth())).toMatchObject({ passed: true });
  });

  it('travels as plain files: exported, removed, imported, it is the same usable snapshot', { timeout: 600_000 }, async () => {
    await provider.exportSnapshot(snapshot!.id, EXPORT);
    await provider.removeSnapshot(snapshot!.id);
    expect((await first.snapshots()).some((l) => l.snapshot.id === snapshot!.id)).toBe(false);
    await provider.importSnapshot(EXPORT);
    const listed = (await first.snapshots()).find((l) => l.snapshot.id === snapshot!.id);
    expect(listed?.usable).toBe(true);
    expect(listed?.snapshot.passed).toEqual(snapshot!.passed);
  });

  it(`lab up ${LAST} of a new lab restores it: its own subnet, every check of every earlier step passes, nodes carry the new addresses`, { timeout: 600_000 }, async () => {
    // The first lab keeps running: the second gets another /24, as a room's labs do.
    const started = Date.now();
    await second.up(LAST);
    const seconds = (Date.now() - started) / 1000;
    console.log(`lab up ${LAST} from snapshot ${snapshot!.id}: ${seconds.toFixed(1)} s`);
    expect((await provider.exec(SECOND, 'jumpbox', ['test', '-f', MARKER])).exitCode, 'the jumpbox came from the snapshot').toBe(0);

    const ips = async (lab: string): Promise<Record<string, string>> => Object.fromEntries((await provider.list(lab)).map((m) => [m.name, m.ip ?? '']));
    const [old, now] = [await ips(FIRST), await ips(SECOND)];
    expect(now.server!.split('.').slice(0, 3)).not.toEqual(old.server!.split('.').slice(0, 3));

    expect(second.progress().passed.sort()).toEqual([...snapshot!.passed].sort());
    expect(second.progress().chapter).toBe(LAST);

    const steps = CHAPTERS.filter((c) => c.number < LAST).flatMap((c) => c.steps.map((step) => ({ key: `${c.number}/${step.id}`, step })));
    const outcomes = await Promise.all(steps.map(({ step }) => checkStep(provider, SECOND, step)));
    const failing = steps.flatMap(({ key }, i) => (outcomes[i]!.passed ? [] : [`${key}: ${outcomes[i]!.failures.map((f) => `${f.check.fail} ${f.output}`).join('; ')}`]));
    expect(failing).toEqual([]);

    const machines = await provider.exec(SECOND, 'jumpbox', ['cat', '/root/machines.txt']);
    expect(machines.stdout).toContain(`${now.server} server.kubernetes.local server`);
    expect(machines.stdout).not.toContain(`${old.server} `);
    const nodes = await provider.exec(SECOND, 'server', [
      'kubectl', 'get', 'nodes', '--kubeconfig', '/root/admin.kubeconfig', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.addresses[?(@.type=="InternalIP")].address} {end}',
    ]);
    expect(nodes.stdout.trim().split(' ').sort()).toEqual([`node-0=${now['node-0']}`, `node-1=${now['node-1']}`]);
    const routes = await provider.exec(SECOND, 'server', ['ip', 'route', 'show', '10.200.1.0/24']);
    expect(routes.stdout).toContain(`via ${now['node-1']}`);
    expect(await checkHealth(provider, SECOND, loadHealth())).toMatchObject({ passed: true });
  });

  it('a fault is proven on the restored lab end to end: break, the check fails, give up, healthy', { timeout: 600_000 }, async () => {
    const fault = await second.breakCluster({ id: 'kube-proxy-flushed' });
    expect(fault.id).toBe('kube-proxy-flushed');
    const broken = await second.check();
    expect(broken.kind).toBe('fault');
    expect(broken.outcome.passed).toBe(false);
    const gaveUp = await second.giveUp();
    expect(gaveUp.fix.ok, gaveUp.fix.output).toBe(true);
    expect(gaveUp.outcome.failures.map((f) => `${f.check.fail} ${f.output}`)).toEqual([]);
    expect(second.activeFault()).toBeNull();
  });
});

import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabEngine } from '../../../src/engine/lab.ts';
import { stepKey } from '../../../src/engine/progress.ts';
import { SNAPSHOT_ID, completedChapter, hashTree, pickSnapshot, snapshotId, snapshotKey, type Snapshot } from '../../../src/engine/snapshots.ts';
import { REAL_SETUP } from '../../../src/engine/lab.ts';
import { LabError } from '../../../src/util/errors.ts';
import type { Course } from '../../../src/engine/lab.ts';
import { chapter, FAST_SETUP, fakeCourse, fakeLab, step } from '../../helpers/fake-course.ts';
import { FakeProvider } from '../../helpers/fake-provider.ts';

const CHAPTERS = fakeCourse().chapters;

describe('snapshot keys', () => {
  const key = (chapters = CHAPTERS, upTo = 2, inputs = { files: 'x' }, image = 'img:1'): string => snapshotKey(chapters, upTo, inputs, image);

  it('change with the commands of a chapter up to the snapshot, the inputs and the machine image', () => {
    const changedSolve = [chapter(1, [step('a1', { solve: 'set a1\nset more' }), step('a2')]), ...CHAPTERS.slice(1)];
    const changedCheck = [chapter(1, [step('a1'), step('a2', { checks: [{ run: 'has a2', fail: 'x', machine: 'server' }] })]), ...CHAPTERS.slice(1)];
    expect(key(changedSolve)).not.toBe(key());
    expect(key(changedCheck)).not.toBe(key());
    expect(key(CHAPTERS, 2, { files: 'y' })).not.toBe(key());
    expect(key(CHAPTERS, 2, { files: 'x' }, 'img:2')).not.toBe(key());
    expect(key(CHAPTERS, 1)).not.toBe(key());
  });

  it('do not change with prose, hints, failure messages or a later chapter', () => {
    const reworded = CHAPTERS.map((c) => ({ ...c, title: 'new', steps: c.steps.map((s) => ({ ...s, prose: 'new', hints: ['new'], title: 'new', checks: s.checks.map((k) => ({ ...k, fail: 'new' })) })) }));
    const laterChanged = [...CHAPTERS.slice(0, 2), chapter(3, [step('c1', { solve: 'set other' })])];
    expect(key(reworded)).toBe(key());
    expect(key(laterChanged)).toBe(key());
  });
});

describe('snapshot ids', () => {
  it('SNAPSHOT_ID matches every id snapshotId makes, whatever the chapter and the time', () => {
    const key = snapshotKey(CHAPTERS, 2, {}, 'img:1');
    for (const chapterNumber of [1, 14, 150]) {
      for (const now of [0, Date.now(), Number.MAX_SAFE_INTEGER]) expect(snapshotId(chapterNumber, key, now)).toMatch(SNAPSHOT_ID);
    }
  });

  it('and nothing else: no name, path, command or other case', () => {
    const made = snapshotId(3, snapshotKey(CHAPTERS, 2, {}, 'img:1'));
    for (const id of ['latest', '', '../x', `${made}/../x`, `${made}; rm -rf /`, `x${made}`, made.toUpperCase(), made.replace(/^ch03/, 'ch3')]) expect(id).not.toMatch(SNAPSHOT_ID);
  });
});

describe('what a lab is made from besides the chapters', () => {
  it('the course files count by path, content and mode', () => {
    const root = mkdtempSync(join(tmpdir(), 'hardway-tree-'));
    mkdirSync(join(root, 'configs'));
    writeFileSync(join(root, 'configs', 'a.yaml'), 'one');
    const before = hashTree(root);
    writeFileSync(join(root, 'configs', 'a.yaml'), 'two');
    const changed = hashTree(root);
    chmodSync(join(root, 'configs', 'a.yaml'), 0o755);
    expect(new Set([before, changed, hashTree(root)]).size).toBe(3);
  });

  it('the real inputs name the course files, the artifact versions and the pod images', () => {
    const inputs = REAL_SETUP.stateInputs();
    expect(inputs.courseFiles).toMatch(/^[0-9a-f]{16}$/);
    expect(inputs.artifacts).toMatch(/kubernetes@v\d/);
    expect(inputs.podImages).toContain('pause');
  });
});

describe('choosing a snapshot', () => {
  const snap = (id: string, chapterNumber: number, createdMs: number, key = `k${chapterNumber}`): Snapshot => ({ id, key, chapter: chapterNumber, passed: [], lab: 'x', subnet: '', sizeBytes: 0, createdMs });
  const keyOf = (c: number): string => `k${c}`;

  it('takes the furthest chapter before the target, the newest of those, and never a stale key', () => {
    const all = [snap('old2', 2, 1), snap('new2', 2, 5), snap('one', 1, 9), snap('stale3', 3, 9, 'other'), snap('four', 4, 9)];
    expect(pickSnapshot(all, 4, keyOf, () => true)?.id).toBe('new2');
    expect(pickSnapshot(all, 5, keyOf, () => true)?.id).toBe('four');
    expect(pickSnapshot(all, 2, keyOf, () => true)?.id).toBe('one');
    expect(pickSnapshot(all, 1, keyOf, () => true)).toBeNull();
  });

  it('counts a chapter complete only when it and all before it are passed', () => {
    expect(completedChapter(CHAPTERS, ['1/a1', '1/a2', '2/b1', '3/c1', '3/c2'])).toBe(1);
    expect(completedChapter(CHAPTERS, ['1/a2'])).toBe(0);
  });
});

describe('LabEngine snapshots (fake provider)', () => {
  async function builtLab(provider = new FakeProvider()): Promise<{ engine: LabEngine; provider: FakeProvider }> {
    const lab = fakeLab(fakeCourse(), provider, 'first');
    await lab.engine.up(3, { snapshots: false });
    return lab;
  }

  it('keeps the last complete chapter with its passed steps, taken with the machines stopped, and leaves the lab running', async () => {
    const { engine, provider } = await builtLab();
    const snapshot = await engine.snapshot();
    expect(snapshot.chapter).toBe(2);
    expect(snapshot.passed).toEqual(['1/a1', '1/a2', '2/b1', '2/b2']);
    expect(snapshot.lab).toBe('first');
    // The planned shutdown ran on the running machines, past its failing first action.
    expect(provider.counters.get('shutdown')).toBe(1);
    expect((await provider.list('first')).every((m) => m.state === 'running')).toBe(true);
    const listed = await engine.snapshots();
    expect(listed.map((l) => [l.snapshot.id, l.usable])).toEqual([[snapshot.id, true]]);
  });

  it('a new lab starts from it on its own subnet: progress is the snapshot\'s, only what the move lost is solved again, later chapters are replayed', async () => {
    const provider = new FakeProvider();
    const { engine } = await builtLab(provider);
    const snapshot = await engine.snapshot();
    // machines.txt and the routes name the old addresses: the restored lab does not keep them.
    provider.lostOnRestore.add('a1');
    const second = new LabEngine(provider, 'second', fakeCourse(), FAST_SETUP);
    await second.up(3);
    expect(provider.subnets.get('second')).not.toBe(provider.subnets.get('first'));
    expect(provider.ran('second', 'count solve-a1')).toBe(1);
    expect(provider.ran('second', 'count solve-a2')).toBe(0);
    expect(provider.ran('second', 'count solve-b1')).toBe(0);
    expect([...provider.factsOf('second')].sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(second.progress().passed.sort()).toEqual([...snapshot.passed].sort());
    expect(second.progress().chapter).toBe(3);
    // Chapter 3 was never part of the snapshot and is not replayed by up 3.
    expect(provider.ran('second', 'count solve-c1')).toBe(0);
  });

  it('a step that names the machines\' addresses is solved again first, before the components are waited for', async () => {
    const course = (): Course => ({ ...fakeCourse(), chapters: [chapter(1, [step('a1', { addresses: true }), step('a2')]), ...fakeCourse().chapters.slice(1)] });
    const provider = new FakeProvider();
    const first = new LabEngine(provider, 'first', course(), FAST_SETUP);
    await first.up(3, { snapshots: false });
    await first.snapshot();
    provider.lostOnRestore.add('a1');
    provider.slowFacts.set('b2', 2);
    const second = new LabEngine(provider, 'second', course(), FAST_SETUP);
    await second.up(3);
    expect(provider.ran('second', 'count solve-a1')).toBe(1);
    const scripts = provider.execLog.filter((e) => e.lab === 'second').map((e) => e.script);
    expect(scripts.findIndex((s) => s.endsWith('count solve-a1\nset a1'))).toBeLessThan(scripts.indexOf('has b2'));
    expect(provider.ran('second', 'count solve-b2')).toBe(0);
    expect([...provider.factsOf('second')].sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it('a step still starting is waited for, not solved again; one that cannot pass again fails lab up with its name', async () => {
    const provider = new FakeProvider();
    const { engine } = await builtLab(provider);
    await engine.snapshot();
    provider.slowFacts.set('b2', 2);
    const second = new LabEngine(provider, 'second', fakeCourse(), FAST_SETUP);
    await second.up(3);
    // Graded until it passed: the countdown of failing checks ran out.
    expect(provider.slowFacts.get('b2')).toBe(0);
    expect(provider.ran('second', 'count solve-b2')).toBe(0);

    // A component that never comes back: its step fails whatever is solved.
    provider.slowFacts.set('b1', 1_000_000);
    const third = new LabEngine(provider, 'third', fakeCourse(), FAST_SETUP);
    await expect(third.up(3)).rejects.toThrow(/"Step b1" does not pass again/);
  });

  it('a snapshot of a built cluster is trusted once the cluster is healthy: its other steps are not graded again; an unhealthy one is', async () => {
    // Chapter 2 builds the cluster; its last step makes it healthy.
    const course = (): Course => {
      const base = fakeCourse();
      return { ...base, chapters: [base.chapters[0]!, { ...chapter(2, [step('b1'), step('b2', { solve: 'count solve-b2\nset b2\nset healthy' })]), milestone: 'cluster-built' }, base.chapters[2]!] };
    };
    const provider = new FakeProvider();
    const first = new LabEngine(provider, 'first', course(), FAST_SETUP);
    await first.up(3, { snapshots: false });
    const snapshot = await first.snapshot();
    provider.slowFacts.set('healthy', 2);
    provider.slowFacts.set('b1', 1_000_000);
    const second = new LabEngine(provider, 'second', course(), FAST_SETUP);
    await second.up(3);
    expect(provider.slowFacts.get('healthy')).toBe(0);
    expect(provider.ran('second', 'has b1')).toBe(0);
    expect(provider.ran('second', 'count solve-')).toBe(0);
    expect(second.progress().passed.sort()).toEqual([...snapshot.passed].sort());

    // A cluster that does not come up healthy: every passed step is graded (and b1 never passes again).
    provider.slowFacts.set('healthy', 1_000_000);
    const third = new LabEngine(provider, 'third', course(), FAST_SETUP);
    await expect(third.up(3)).rejects.toThrow(/"Step b1" does not pass again/);
    expect(provider.ran('third', 'has b1')).toBeGreaterThan(0);
  });

  it('restores the furthest usable snapshot and replays only the chapters after it', async () => {
    const provider = new FakeProvider();
    const { engine } = await builtLab(provider);
    await engine.snapshot();
    const course = { ...fakeCourse(), chapters: [...fakeCourse().chapters, chapter(4, [step('d1')])] };
    const second = new LabEngine(provider, 'second', course, FAST_SETUP);
    await second.up(4);
    expect(provider.ran('second', 'count solve-a1')).toBe(0);
    expect(provider.ran('second', 'count solve-c1')).toBe(1);
    expect(second.progress().passed).toContain(stepKey(3, 'c2'));
  });

  it('never uses a snapshot whose key no longer matches; prune removes it', async () => {
    const provider = new FakeProvider();
    const { engine } = await builtLab(provider);
    await engine.snapshot();
    const changed = { ...fakeCourse(), chapters: [chapter(1, [step('a1', { solve: 'count solve-a1\nset a1\nset extra' }), step('a2')]), ...fakeCourse().chapters.slice(1)] };
    const second = new LabEngine(provider, 'second', changed, FAST_SETUP);
    expect((await second.snapshots()).map((l) => l.usable)).toEqual([false]);
    await second.up(3);
    expect(provider.ran('second', 'count solve-a1')).toBe(1);
    expect(provider.ran('second', 'count solve-b1')).toBe(1);
    expect((await second.pruneSnapshots()).length).toBe(1);
    expect(await provider.listSnapshots()).toEqual([]);
  });

  it('up --no-snapshot replays, and an existing lab is never replaced by a snapshot', async () => {
    const provider = new FakeProvider();
    const { engine } = await builtLab(provider);
    await engine.snapshot();
    const second = new LabEngine(provider, 'second', fakeCourse(), FAST_SETUP);
    await second.up(3, { snapshots: false });
    expect(provider.ran('second', 'count solve-b1')).toBe(1);
    await engine.up(3);
    expect(provider.ran('first', 'count solve-b1')).toBe(1);
  });

  it('prune keeps the newest usable snapshot of a key unless told to remove all', async () => {
    const { engine, provider } = await builtLab();
    await engine.snapshot();
    const newest = await engine.snapshot();
    expect((await engine.pruneSnapshots()).length).toBe(1);
    expect((await provider.listSnapshots()).map((s) => s.id)).toEqual([newest.id]);
    expect((await engine.pruneSnapshots(true)).map((s) => s.id)).toEqual([newest.id]);
  });

  it('refuses a lab with a failing step, a fault, or no complete chapter', async () => {
    const { engine, provider } = await builtLab();
    provider.factsOf('first').delete('b2');
    await expect(engine.snapshot()).rejects.toThrow(/2\/b2 fail/);
    provider.factsOf('first').add('b2');
    provider.factsOf('first').add('healthy');
    await engine.breakCluster({ id: 'etcd-down' });
    await expect(engine.snapshot()).rejects.toThrow(LabError);
    process.env.HARDWAY_STATE = mkdtempSync(join(tmpdir(), 'hardway-unit-'));
    await expect(engine.snapshot()).rejects.toThrow(/no chapter of this lab is complete/);
  });

  it('up --keep-snapshot keeps one after a replay, and not again when one matches', async () => {
    const { engine, provider } = fakeLab(fakeCourse(), new FakeProvider(), 'first');
    await engine.up(3, { keepSnapshot: true });
    expect((await provider.listSnapshots()).length).toBe(1);
    const second = new LabEngine(provider, 'second', fakeCourse(), FAST_SETUP);
    await second.up(3, { keepSnapshot: true });
    expect((await provider.listSnapshots()).length).toBe(1);
  });

  it('up --keep-snapshot after a restore from an older snapshot keeps one where the chapter starts', async () => {
    const { engine, provider } = fakeLab(fakeCourse(), new FakeProvider(), 'first');
    await engine.up(2, { keepSnapshot: true });
    expect((await engine.matchingSnapshot(3))?.chapter).toBe(1);
    const second = new LabEngine(provider, 'second', fakeCourse(), FAST_SETUP);
    await second.up(3, { keepSnapshot: true });
    expect((await provider.listSnapshots()).length).toBe(2);
    expect((await second.matchingSnapshot(3))?.chapter).toBe(2);
  });
});

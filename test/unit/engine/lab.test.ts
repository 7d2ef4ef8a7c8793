import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabEngine, REAL_SETUP, UnhealthyClusterError } from '../../../src/engine/lab.ts';
import { readProgress } from '../../../src/engine/progress.ts';
import { SolveError } from '../../../src/engine/runner.ts';
import { LabError } from '../../../src/util/errors.ts';
import { chapter, fakeCourse, fakeLab, FAST_SETUP, step } from '../../helpers/fake-course.ts';
import { SlowProvider } from '../../helpers/fake-provider.ts';
import { reportingTo, type OutputSink } from '../../../src/util/output.ts';

/** A lab built to the end of the fake course, healthy. */
async function finishedLab() {
  const made = fakeLab();
  await made.engine.up(3);
  made.provider.factsOf('unit').add('healthy');
  return made;
}

describe('the engine: steps', () => {
  it('check fails with the step\'s own message, solve makes it pass, and the pass is recorded', async () => {
    const { engine } = fakeLab();
    await engine.up();
    const before = await engine.check();
    expect(before.kind).toBe('step');
    expect(before.outcome.passed).toBe(false);
    expect(before.outcome.failures.map((f) => f.check.fail)).toEqual(['a1 is not done']);
    const solved = await engine.solve();
    expect(solved.outcome.passed).toBe(true);
    expect(readProgress('unit').passed).toEqual(['1/a1']);
    expect(engine.position().step?.id).toBe('a2');
  });

  it('records when each step first passed: a check that passes again keeps the first time', async () => {
    const { engine, provider } = fakeLab();
    await engine.up();
    const before = new Date().toISOString();
    provider.factsOf('unit').add('a1');
    await engine.check('1/a1');
    const first = readProgress('unit').passedAt!['1/a1']!;
    expect(first >= before && first <= new Date().toISOString()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await engine.check('1/a1');
    expect(readProgress('unit').passedAt).toEqual({ '1/a1': first });
  });

  it('the hint ladder climbs one rung per call and stays on the last', async () => {
    const { engine } = fakeLab();
    const texts = [];
    for (let i = 0; i < 5; i++) texts.push((await engine.hint()).hint);
    expect(texts.map((h) => `${h.index}/${h.total}`)).toEqual(['1/3', '2/3', '3/3', '3/3', '3/3']);
    expect(texts[2]!.text).toBe('a1: the answer');
    // another step has a ladder of its own
    expect((await engine.hint('1/a2')).hint.index).toBe(1);
  });

  it('names a step as N/id or by id in the current chapter, and says what exists when it does not', () => {
    const { engine } = fakeLab();
    expect(engine.step('2/b2').step.id).toBe('b2');
    expect(engine.step('a2').chapter.number).toBe(1);
    const unknown = (() => { try { engine.step('2/zz'); } catch (error) { return error as LabError; } })();
    expect(unknown?.message).toBe('chapter 2 has no step "zz"');
    expect(unknown?.next).toBe('its steps are: b1, b2');
    expect(() => engine.step('9/a')).toThrow(/there is no chapter 9/);
  });

  it('a solution that fails to run is a SolveError, and nothing is recorded', async () => {
    const course = fakeCourse();
    course.chapters[0] = chapter(1, [step('a1', { solve: 'fail' })]);
    const { engine } = fakeLab(course);
    await engine.up();
    await expect(engine.solve()).rejects.toBeInstanceOf(SolveError);
    expect(readProgress('unit').passed).toEqual([]);
  });
});

describe('the engine: one action at a time in a lab', () => {
  /** A lab at chapter 1 whose scripts take time; the count of scripts at once starts from here. */
  async function slowLab() {
    const provider = new SlowProvider();
    const made = fakeLab(undefined, provider);
    await made.engine.up();
    provider.resetCount();
    return { ...made, provider };
  }

  it('two solves asked at once run one after the other, never two scripts at once, and both pass', async () => {
    const { engine, provider } = await slowLab();
    const [first, second] = await Promise.all([engine.solve('1/a1'), engine.solve('1/a2')]);
    expect([first.outcome.passed, second.outcome.passed]).toEqual([true, true]);
    expect(provider.most).toBe(1);
    expect(readProgress('unit').passed).toEqual(['1/a1', '1/a2']);
  });

  it('a check asked while the solution runs waits for it, and grades what it did', async () => {
    const { engine, provider } = await slowLab();
    const [solved, checked] = await Promise.all([engine.solve('1/a1'), engine.check('1/a1')]);
    expect(solved.outcome.passed).toBe(true);
    expect(checked.outcome.passed).toBe(true);
    expect(provider.most).toBe(1);
  });

  it('the same step solved twice at once runs its solution twice, one after the other', async () => {
    const { engine, provider } = await slowLab();
    await Promise.all([engine.solve('1/a1'), engine.solve('1/a1'), engine.check('1/a2')]);
    expect(provider.counters.get('solve-a1')).toBe(2);
    expect(provider.most).toBe(1);
  });

  it('a heal asked during a solve starts after it (it finds the step done and does not solve it again), and says it waited', async () => {
    const { engine, provider } = await slowLab();
    provider.factsOf('unit').add('healthy');
    const lines: string[] = [];
    const sink: OutputSink = { update: (label, detail) => lines.push(`${label}: ${detail}`), done: (label, detail) => lines.push(`${label}: ${detail}`), say: () => {}, warn: () => {} };
    const solving = engine.solve('1/a1');
    const healing = reportingTo(sink, () => engine.heal());
    await Promise.all([solving, healing]);
    expect(provider.counters.get('solve-a1')).toBe(1);
    expect((await healing).outcome.passed).toBe(true);
    expect(lines.slice(0, 2)).toEqual(['lab unit: waiting for solving 1/a1 to finish before healing the cluster', 'lab unit: its turn: healing the cluster']);
  });

  it('a failing action ends its turn: the next one runs', async () => {
    const course = fakeCourse();
    course.chapters[0] = chapter(1, [step('a1', { solve: 'fail' }), step('a2')]);
    const provider = new SlowProvider();
    const { engine } = fakeLab(course, provider);
    await engine.up();
    const [failed, solved] = await Promise.allSettled([engine.solve('1/a1'), engine.solve('1/a2')]);
    expect(failed.status).toBe('rejected');
    expect(solved.status === 'fulfilled' && solved.value.outcome.passed).toBe(true);
  });

  it('a bad request is a rejection, not a throw, and holds no turn', async () => {
    const { engine } = await slowLab();
    await expect(engine.reset(9)).rejects.toThrow(/there is no chapter 9/);
    await expect(engine.up(9)).rejects.toThrow(/there is no chapter 9/);
    expect((await engine.solve('1/a1')).outcome.passed).toBe(true);
  });

  it('labs do not wait for each other', async () => {
    const provider = new SlowProvider();
    const first = fakeLab(undefined, provider, 'one');
    const second = new LabEngine(provider, 'two', first.engine.course, FAST_SETUP);
    await Promise.all([first.engine.up(), second.up()]);
    provider.resetCount();
    await Promise.all([first.engine.solve('1/a1'), second.solve('1/a1')]);
    expect(provider.most).toBe(2);
  });
});

describe('the engine: lab up, reset, down', () => {
  it('lab up N replays the chapters before N, records each step and the chapter, and a re-run solves nothing again', async () => {
    const { engine, provider } = fakeLab();
    await engine.up(3);
    expect(readProgress('unit')).toMatchObject({ chapter: 3, passed: ['1/a1', '1/a2', '2/b1', '2/b2'] });
    expect(provider.ran('unit', 'set c1')).toBe(0);
    await engine.up(3);
    expect(provider.counters.get('solve-a1')).toBe(1);
  });

  it('resumes after a crash: a replay that stopped half-way continues where it stopped', async () => {
    const course = fakeCourse();
    course.chapters[1] = chapter(2, [step('b1', { solve: 'has ready-for-b1\nset b1' }), step('b2')]);
    const { engine, provider } = fakeLab(course);
    await expect(engine.up(3)).rejects.toThrow(/replaying "Step b1" failed/);
    expect(readProgress('unit').passed).toEqual(['1/a1', '1/a2']);
    provider.factsOf('unit').add('ready-for-b1');
    await engine.up(3);
    expect(provider.counters.get('solve-a1')).toBe(1);
    expect(readProgress('unit').passed).toEqual(['1/a1', '1/a2', '2/b1', '2/b2']);
  });

  it('after a restart it waits for the steps it had passed to pass again before grading anything', async () => {
    const { engine, provider } = fakeLab();
    await engine.up(3);
    provider.stopAll('unit');
    // the cluster comes back slowly: b2's check fails for a few rounds after the machines start
    provider.slowFacts.set('b2', 3);
    await engine.up(3);
    expect(provider.counters.get('solve-b2')).toBe(1);
    expect((await engine.machines()).every((m) => m.state === 'running')).toBe(true);
  });

  it('lab down removes the machines and forgets progress and the active fault', async () => {
    const { engine, provider } = await finishedLab();
    await engine.breakCluster({ id: 'etcd-down' });
    await engine.down();
    expect(await provider.list('unit')).toEqual([]);
    expect(readProgress('unit')).toEqual({ chapter: 1, passed: [], hintsShown: {} });
    expect((await engine.machines()).map((m) => m.state)).toEqual(['missing', 'missing', 'missing', 'missing']);
  });

  it('reset starts a new lab at a chapter, with nothing left of the old one', async () => {
    const { engine, provider } = await finishedLab();
    await engine.hint('3/c1');
    await engine.reset(2);
    expect(readProgress('unit')).toMatchObject({ chapter: 2, passed: ['1/a1', '1/a2'], hintsShown: {} });
    expect(provider.factsOf('unit').has('c1')).toBe(false);
  });

  it('a damaged progress file is a clear error naming it, not a crash', () => {
    const { engine } = fakeLab();
    const dir = join(process.env.HARDWAY_STATE!, 'labs', 'unit');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'progress.json'), '{"chapter": 2, "pass');
    expect(() => engine.progress()).toThrow(LabError);
    expect(() => engine.progress()).toThrow(/progress file .*progress\.json is damaged/);
  });
});

describe('the engine: break and fix', () => {
  it('refuses to break an unhealthy cluster, saying what is unhealthy', async () => {
    const { engine } = fakeLab();
    await engine.up(3);
    const error = await engine.breakCluster({ id: 'etcd-down' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnhealthyClusterError);
    expect((error as UnhealthyClusterError).outcome.failures.map((f) => f.check.fail)).toEqual(['the cluster is not healthy']);
    expect(engine.activeFault()).toBeNull();
  });

  it('picks at random among faults of a component or difficulty, and a random fault stays hidden', async () => {
    const { engine } = await finishedLab();
    expect(engine.candidates({ difficulty: 2 }).map((f) => f.id)).toEqual(['proxy-gone', 'dns-loop']);
    expect(engine.candidates({ component: 'etcd' }).map((f) => f.id)).toEqual(['etcd-down']);
    const fault = await engine.breakCluster({ difficulty: 2 }, () => 0.99);
    expect(fault.id).toBe('dns-loop');
    expect(engine.activeFault()?.state).toEqual({ id: 'dns-loop', hidden: true, hintsShown: 0 });
    await expect(engine.breakCluster({ id: 'etcd-down' })).rejects.toThrow(/already has a fault/);
    await expect(fakeLab().engine.breakCluster({ component: 'nothing' })).rejects.toThrow(/no fault matches/);
  });

  it('a fault chosen by id is named to the learner, unless the request asks for it hidden', async () => {
    const chosen = await finishedLab();
    await chosen.engine.breakCluster({ id: 'etcd-down' });
    expect(chosen.engine.activeFault()?.state).toEqual({ id: 'etcd-down', hidden: false, hintsShown: 0 });
    const surprise = await finishedLab();
    await surprise.engine.breakCluster({ id: 'etcd-down', hidden: true });
    expect(surprise.engine.activeFault()?.state).toEqual({ id: 'etcd-down', hidden: true, hintsShown: 0 });
  });

  it('with a fault active, check grades the fix and hint climbs the fault\'s ladder; a fix clears it', async () => {
    const { engine, provider } = await finishedLab();
    await engine.breakCluster({ id: 'etcd-down' });
    const broken = await engine.check();
    expect(broken.kind).toBe('fault');
    expect(broken.outcome.failures.map((f) => f.check.fail)).toEqual(['the cluster still misbehaves', 'the cluster is not healthy']);
    expect((await engine.hint()).hint).toMatchObject({ index: 1, text: 'etcd-down: look at the logs' });
    expect((await engine.hint()).hint).toMatchObject({ index: 2, total: 2 });
    expect(engine.activeFault()?.state.hintsShown).toBe(2);
    provider.factsOf('unit').add('healthy');
    const fixed = await engine.check();
    expect(fixed.outcome.passed).toBe(true);
    expect(engine.activeFault()).toBeNull();
  });

  it('a fix that takes a shortcut fails on the guard', async () => {
    const { engine, provider } = await finishedLab();
    await engine.breakCluster({ id: 'etcd-down' });
    provider.factsOf('unit').add('healthy');
    provider.factsOf('unit').add('shortcut');
    const graded = await engine.check();
    expect(graded.outcome.failures.map((f) => f.check.fail)).toEqual(['a shortcut was taken']);
    expect(engine.activeFault()).not.toBeNull();
  });

  it('give up runs the fix, waits for health and clears the fault', async () => {
    const { engine, provider } = await finishedLab();
    await engine.breakCluster({ id: 'proxy-gone' });
    const { fix, outcome, fault } = await engine.giveUp();
    expect(fault.id).toBe('proxy-gone');
    expect(fix.ok).toBe(true);
    expect(outcome.passed).toBe(true);
    expect(provider.counters.get('fix-proxy-gone')).toBe(1);
    expect(engine.activeFault()).toBeNull();
    await expect(engine.giveUp()).rejects.toThrow(/no fault is active/);
  });

  it('heal runs the fault\'s fix first, then re-solves only the steps whose state broke', async () => {
    const { engine, provider } = await finishedLab();
    await engine.breakCluster({ id: 'etcd-down' });
    provider.factsOf('unit').delete('b1');
    const { outcome } = await engine.heal();
    expect(outcome.passed).toBe(true);
    const order = provider.execLog.map((e) => e.script);
    expect(order.findIndex((s) => s.includes('fix-etcd-down'))).toBeLessThan(order.map((s) => s.includes('solve-b1')).lastIndexOf(true));
    expect(provider.counters.get('solve-b1')).toBe(2);
    expect(provider.counters.get('solve-a1')).toBe(1);
    expect(engine.activeFault()).toBeNull();
  });

  it('a fault whose inject fails is not made active, and the error names the action, its machine, exit code and output', async () => {
    const course = fakeCourse();
    course.faults[0] = { ...course.faults[0]!, inject: [{ machine: 'server', run: 'unset healthy' }, { machine: 'node-1', run: 'fail' }] };
    const { engine, provider } = fakeLab(course);
    await engine.up(3);
    provider.factsOf('unit').add('healthy');
    const error = await engine.breakCluster({ id: 'etcd-down' }).then(() => null, (e: unknown) => e as LabError);
    expect(error).toBeInstanceOf(LabError);
    expect(error!.message).toBe('injecting the fault etcd-down failed: action 2 of 2 (inject[1] in labs/faults/etcd-down.yaml) on node-1 exited with code 1; its output ends:\n  failed on purpose');
    expect(error!.next).toMatch(/^lab heal --lab unit restores the cluster\. .*lab shell node-1 --lab unit/);
    expect(engine.activeFault()).toBeNull();
  });

  it('a fix that fails is reported by give up with the action that failed', async () => {
    const course = fakeCourse();
    course.faults[1] = { ...course.faults[1]!, solve: [{ machine: 'server', run: 'exit 4' }] };
    const { engine, provider } = fakeLab(course);
    await engine.up(3);
    provider.factsOf('unit').add('healthy');
    await engine.breakCluster({ id: 'proxy-gone' });
    const { fix, outcome } = await engine.giveUp();
    expect(fix).toMatchObject({ ok: false, exitCode: 4, failedAction: 0 });
    expect(outcome.passed).toBe(false);
    expect(engine.activeFault()?.fault.id).toBe('proxy-gone');
  });

  it('lab up does not replay over an active fault', async () => {
    const { engine } = await finishedLab();
    await engine.breakCluster({ id: 'etcd-down' });
    await expect(engine.up(3)).rejects.toThrow(/has a fault to fix/);
  });
});

describe('the real setup', () => {
  it('gives a slow host (HARDWAY_TIME_SCALE) more time to recover after a restart, and keys snapshots by pod image recipe revisions', () => {
    const before = process.env.HARDWAY_TIME_SCALE;
    try {
      delete process.env.HARDWAY_TIME_SCALE;
      const normal = REAL_SETUP.recoveryMs;
      process.env.HARDWAY_TIME_SCALE = '3';
      expect(REAL_SETUP.recoveryMs).toBe(3 * normal);
    } finally {
      if (before === undefined) delete process.env.HARDWAY_TIME_SCALE;
      else process.env.HARDWAY_TIME_SCALE = before;
    }
    expect(REAL_SETUP.stateInputs().podImages).toMatch(/busybox:latest=library\/busybox:latest@r\d/);
  });
});

import { describe, expect, it } from 'vitest';
import { readProgress } from '../../../src/engine/progress.ts';
import { checkReport, labReport } from '../../../src/engine/report.ts';
import { fakeCourse, fakeLab } from '../../helpers/fake-course.ts';

describe('a check as data', () => {
  it('a step: its key and title, whether it passed, each failing check\'s message and output, the next step', async () => {
    const { engine, provider } = fakeLab();
    await engine.up();
    expect(checkReport('unit', await engine.check('1/a1'))).toEqual({
      lab: 'unit',
      kind: 'step',
      step: '1/a1',
      title: 'Step a1',
      fault: null,
      passed: false,
      failures: [{ message: 'a1 is not done', output: 'no a1', timedOut: false }],
      next: '1/a1',
    });
    provider.factsOf('unit').add('a1');
    expect(checkReport('unit', await engine.check('1/a1'))).toMatchObject({ passed: true, failures: [], next: '1/a2' });
  });

  it('a fault: a surprise stays unnamed until it is fixed; a chosen one is named', async () => {
    const { engine, provider } = fakeLab();
    await engine.up(3);
    provider.factsOf('unit').add('healthy');
    await engine.breakCluster({ component: 'etcd' });
    const broken = checkReport('unit', await engine.check());
    expect(broken).toMatchObject({ kind: 'fault', step: null, title: null, fault: null, passed: false, next: null });
    expect(broken.failures.map((f) => f.message)).toContain('the cluster still misbehaves');
    expect(JSON.stringify(broken)).not.toMatch(/etcd-down/);
    provider.factsOf('unit').add('healthy');
    expect(checkReport('unit', await engine.check())).toMatchObject({ kind: 'fault', fault: { id: 'etcd-down', title: 'Fault etcd-down' }, passed: true, failures: [] });

    await engine.breakCluster({ id: 'proxy-gone' });
    expect(checkReport('unit', await engine.check())).toMatchObject({ fault: { id: 'proxy-gone' }, passed: false });
  });
});

describe('a whole lab as data', () => {
  it('every step of every chapter, passed or not and when (none for a pass from before times were kept), and the current chapter', () => {
    const progress = { chapter: 2, passed: ['1/a1', '1/a2', '2/b1'], passedAt: { '1/a2': '2026-03-02T09:15:00.000Z', '2/b1': '2026-03-02T09:40:12.500Z' }, hintsShown: {} };
    const report = labReport('unit', fakeCourse(), progress);
    expect(report).toMatchObject({ lab: 'unit', currentChapter: 2, passed: 3, total: 6, fault: null });
    expect(report.chapters.map((c) => [c.number, c.current, c.passed, c.steps.length])).toEqual([
      [1, false, 2, 2],
      [2, true, 1, 2],
      [3, false, 0, 2],
    ]);
    expect(report.chapters[1]!.steps).toEqual([
      { key: '2/b1', id: 'b1', title: 'Step b1', passed: true, passedAt: '2026-03-02T09:40:12.500Z' },
      { key: '2/b2', id: 'b2', title: 'Step b2', passed: false, passedAt: null },
    ]);
    expect(report.chapters[0]!.steps.map((s) => s.passedAt)).toEqual([null, '2026-03-02T09:15:00.000Z']);
  });

  it('a fault to fix is reported, named only when the learner chose it', async () => {
    const { engine, provider } = fakeLab();
    await engine.up(3);
    provider.factsOf('unit').add('healthy');
    await engine.breakCluster({ component: 'etcd' });
    expect(labReport('unit', engine.course, readProgress('unit')).fault).toEqual({ hidden: true });
    await engine.giveUp();
    await engine.breakCluster({ id: 'dns-loop' });
    expect(labReport('unit', engine.course, readProgress('unit')).fault).toEqual({ hidden: false, id: 'dns-loop' });
  });
});

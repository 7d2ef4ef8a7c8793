import { describe, expect, it, vi } from 'vitest';
import { BuildFailedError } from '../../../src/artifacts/build-status.ts';
import type { Course } from '../../../src/engine/lab.ts';
import { readProgress } from '../../../src/engine/progress.ts';
import { reportingTo, type OutputSink } from '../../../src/util/output.ts';
import { FakeBinaries } from '../../helpers/fake-binaries.ts';
import { chapter, fakeCourse, fakeLab, FAST_SETUP, step } from '../../helpers/fake-course.ts';

/** The fake course with the real course's declarations: 2 needs the binaries, 3 the registry, 4 the upgrade's. */
function neededCourse(): Course {
  const course = fakeCourse();
  const [one, two, three] = course.chapters;
  return { ...course, chapters: [one!, { ...two!, needs: ['binaries'] }, { ...three!, needs: ['registry'] }, { ...chapter(4, [step('d1')]), needs: ['upgrade-binaries'] }] };
}

function labWith(binaries: FakeBinaries) {
  const registry = { stocked: 0 };
  const setup = { ...FAST_SETUP, binaries, registry: async () => void (registry.stocked += 1) };
  return { ...fakeLab(neededCourse(), undefined, 'unit', setup), registry };
}

/** Runs `work`, keeping every progress line it shows as "label: detail". */
function watched<T>(work: () => Promise<T>): { lines: string[]; done: Promise<T> } {
  const lines: string[] = [];
  const sink: OutputSink = { update: (l, d) => void lines.push(`${l}: ${d}`), done: (l, d) => void lines.push(`${l}: ${d}`), say: (l) => void lines.push(l), warn: (l) => void lines.push(l) };
  return { lines, done: reportingTo(sink, work) };
}

describe('the engine and binaries still being built', () => {
  it('lab up 1 brings the machines up without waiting for a slow build, which it starts for the course\'s binaries only', async () => {
    const binaries = new FakeBinaries();
    const { engine, registry } = labWith(binaries);
    await engine.up(1);
    expect((await engine.machines()).every((m) => m.state === 'running')).toBe(true);
    expect(binaries.builds).toEqual([['course']]);
    expect(binaries.status?.state).toBe('building');
    // the registry's CoreDNS image needs the built CoreDNS: not stocked yet
    expect(registry.stocked).toBe(0);
    expect((await engine.check()).outcome.passed).toBe(false);
  });

  it('a step of chapter 2 waits for the build, showing which binary it is on, then is graded', async () => {
    const binaries = new FakeBinaries();
    const { engine } = labWith(binaries);
    await engine.up(1);
    const { lines, done } = watched(() => engine.check('2/b1'));
    binaries.advance('kube-apiserver', 3);
    await vi.waitFor(() => expect(lines).toContainEqual(expect.stringMatching(/^waiting for the binaries: building kube-apiserver \(3 of 18\)/)));
    let graded = false;
    void done.then(() => (graded = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(graded).toBe(false);
    binaries.land('course');
    const result = await done;
    expect(result.kind === 'step' && result.step.id).toBe('b1');
    expect(lines).toContain('waiting for the binaries: kubernetes v1.34.4, etcd v3.6.8 ready');
  });

  it('lab up 3 waits for the binaries before replaying chapter 2, then stocks the registry chapter 3 needs', async () => {
    const binaries = new FakeBinaries();
    const { engine, registry } = labWith(binaries);
    const { lines, done } = watched(() => engine.up(3));
    await vi.waitFor(() => expect(lines.some((l) => l.startsWith('waiting for the binaries'))).toBe(true));
    expect(readProgress('unit').passed).toEqual([]);
    binaries.land('course');
    await done;
    expect(readProgress('unit')).toMatchObject({ chapter: 3, passed: ['1/a1', '1/a2', '2/b1', '2/b2'] });
    expect(registry.stocked).toBe(1);
    // chapter 3's checks find it stocked, and do not stock it again
    await engine.check('3/c1');
    expect(registry.stocked).toBe(1);
  });

  it('a check of the chapter that needs the registry stocks it once, when lab up could not', async () => {
    const binaries = new FakeBinaries();
    const { engine, registry } = labWith(binaries);
    await engine.up(1);
    binaries.land('course');
    await engine.check('2/b1');
    expect(registry.stocked).toBe(0);
    await engine.check('3/c1');
    await engine.solve('3/c2');
    expect(registry.stocked).toBe(1);
  });

  it('a failed build is a clear error naming its log and what to try, and nothing is graded', async () => {
    const binaries = new FakeBinaries();
    const { engine, provider } = labWith(binaries);
    await engine.up(1);
    binaries.fail('go build k8s.io/kubernetes/cmd/kube-apiserver failed (exit 1): out of memory');
    const error = await engine.check('2/b1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildFailedError);
    expect((error as BuildFailedError).message).toContain('failed: go build k8s.io/kubernetes/cmd/kube-apiserver failed (exit 1): out of memory');
    expect((error as BuildFailedError).message).toContain('its log: /cache/artifacts-build/build.log');
    expect((error as BuildFailedError).next).toContain('lab artifacts fetch');
    expect(provider.ran('unit', 'has b1')).toBe(0);
  });

  it('lab up starts a failed build again, and waits for the new one', async () => {
    const binaries = new FakeBinaries();
    const { engine } = labWith(binaries);
    await engine.up(1);
    binaries.fail('the network went away');
    const { done } = watched(() => engine.up(2));
    await vi.waitFor(() => expect(binaries.builds).toHaveLength(2));
    binaries.land('course');
    await done;
    expect(readProgress('unit').chapter).toBe(2);
  });

  it('a wait with no build running (none started, or it was interrupted) starts one', async () => {
    const binaries = new FakeBinaries();
    const { engine } = labWith(binaries);
    await engine.up(1);
    binaries.status = { state: 'interrupted', components: ['etcd v3.6.8'], total: 3, position: 1, ready: [], startedAt: 0, updatedAt: 0, log: '/log', pid: 1 };
    const { done } = watched(() => engine.solve('2/b1'));
    await vi.waitFor(() => expect(binaries.builds).toEqual([['course'], ['course']]));
    binaries.land('course');
    expect((await done).outcome.passed).toBe(true);
  });

  it('only a lab at the upgrade chapter (or later) asks for the upgrade\'s Kubernetes', async () => {
    const binaries = new FakeBinaries(true);
    const { engine } = labWith(binaries);
    await engine.up(3);
    await engine.check('3/c1');
    expect(binaries.builds.flat()).not.toContain('upgrade');
    await engine.up(4);
    expect(binaries.builds.at(-1)).toEqual(['course', 'upgrade']);
    expect(readProgress('unit').chapter).toBe(4);
  });
});

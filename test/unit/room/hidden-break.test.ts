import { describe, expect, it, vi } from 'vitest';
import type { Progress } from '../../../src/engine/progress.ts';
import { fakeRoom, labsSettled, type FakeEngine } from '../../helpers/fake-room.ts';

/** Called after every progress write, before the writer carries on: what a page polling at that moment would see. */
const probe = vi.hoisted(() => ({ afterWrite: null as ((lab: string, written: Progress) => Promise<void>) | null }));

vi.mock('../../../src/engine/progress.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/engine/progress.ts')>();
  return {
    ...real,
    async updateProgress(lab: string, change: (progress: Progress) => Progress): Promise<Progress> {
      const written = await real.updateProgress(lab, change);
      await probe.afterWrite?.(lab, written);
      return written;
    },
  };
});

const q = new URLSearchParams();

describe("the instructor's fault, broken for a learner", () => {
  it('is hidden from its first write: the learner\'s state never names it, during the break or after', async () => {
    const world = fakeRoom();
    // The fake's symptom names the fault; a real one does not, and here neither may this one.
    world.course.faults.find((f) => f.id === 'etcd-down')!.symptom = 'kubectl hangs';
    const { room } = await world.open();
    const ann = room.join(room.row.join_code, 'Ann', 'a');
    await labsSettled(room);
    const annLab = room.labFor(ann.token, ann.lab.name)!;
    (annLab.runtime.engine.provider as unknown as FakeEngine['provider']).factsOf(ann.lab.name).add('healthy');
    // What the page reads, less the catalogue of every fault (whose titles it shows only once one is chosen).
    const learnerSees = async (): Promise<string> => {
      const { faults: _catalogue, ...state } = (await room.learnerCall(ann.learner, annLab.runtime, 'GET', '/api/state', q, {})).body as Record<string, unknown>;
      return JSON.stringify(state);
    };
    const seen: { written: Progress; state: string }[] = [];
    probe.afterWrite = async (lab, written) => {
      if (lab === ann.lab.name) seen.push({ written, state: await learnerSees() });
    };

    expect(room.breakFor([ann.learner.id], { id: 'etcd-down' })).toEqual({ started: ['Ann'], refused: [] });
    await annLab.runtime.api.jobs.settled();
    probe.afterWrite = null;

    const faultWrites = seen.filter((s) => s.written.fault);
    expect(faultWrites.length).toBeGreaterThan(0);
    for (const { written, state } of faultWrites) {
      expect(written.fault).toMatchObject({ id: 'etcd-down', hidden: true });
      expect(state).toContain('"hidden":true');
      expect(state).not.toContain('etcd-down');
      expect(state).not.toContain('Fault etcd-down');
    }
    const after = await learnerSees();
    expect(after).toContain('kubectl hangs');
    expect(after).not.toContain('etcd-down');
    expect(after).not.toContain('Fault etcd-down');
    // The board still names it for the instructor.
    expect(room.learnerViews()[0]!.fault).toMatchObject({ id: 'etcd-down', title: 'Fault etcd-down', hidden: true });
  });
});

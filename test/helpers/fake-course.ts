import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostBinaries } from '../../src/artifacts/build-status.ts';
import type { Chapter, Step } from '../../src/engine/course.ts';
import type { Fault } from '../../src/engine/faults.ts';
import { LabEngine, type Course, type LabSetup } from '../../src/engine/lab.ts';
import type { MachineName } from '../../src/lab/topology.ts';
import { FakeProvider } from './fake-provider.ts';

/** A step whose check needs fact `id` and whose solution sets it (and counts how often it ran). */
export function step(id: string, extra: Partial<Step> = {}): Step {
  return {
    id,
    title: `Step ${id}`,
    machine: 'jumpbox',
    checks: [{ run: `has ${id}`, fail: `${id} is not done` }],
    solve: `count solve-${id}\nset ${id}`,
    hints: [`${id}: first hint`, `${id}: second hint`, `${id}: the answer`],
    prose: `Do ${id}.`,
    ...extra,
  };
}

export function chapter(number: number, steps: Step[]): Chapter {
  return { number, slug: `ch${number}`, title: `Chapter ${number}`, document: '', steps };
}

export function fault(id: string, component: string, difficulty: 1 | 2 | 3, machine: MachineName = 'server'): Fault {
  return {
    id,
    title: `Fault ${id}`,
    component,
    difficulty,
    symptom: `symptom of ${id}`,
    inject: [{ machine, run: `count inject-${id}\nunset healthy` }],
    signatures: [{ component, contains: 'broken' }],
    hints: [`${id}: look at the logs`, `${id}: the answer`],
    solve: [{ machine, run: `count fix-${id}\nset healthy` }],
    fixed: [{ machine, run: 'has healthy', fail: 'the cluster still misbehaves' }],
  };
}

/** Prose with a watch typed into the server's second shell while the step's own commands go to the jumpbox. */
const WATCH_PROSE = 'Watch the server while you work:\n\n```bash server second-shell\necho watching-the-server\n```\n\nThen:\n\n```bash\necho on-the-jumpbox\n```\n';

/** Three chapters of two steps (b1's prose has a second-shell block); three faults; health is the fact "healthy"; a shutdown whose first action fails. */
export function fakeCourse(): Course {
  return {
    chapters: [chapter(1, [step('a1'), step('a2')]), chapter(2, [step('b1', { prose: WATCH_PROSE }), step('b2')]), chapter(3, [step('c1'), step('c2')])],
    faults: [fault('etcd-down', 'etcd', 1), fault('proxy-gone', 'kube-proxy', 2), fault('dns-loop', 'coredns', 2)],
    health: { health: [{ machine: 'server', component: 'cluster', run: 'has healthy', fail: 'the cluster is not healthy' }], guards: [{ machine: 'server', run: 'lacks shortcut', fail: 'a shortcut was taken' }], shutdown: [{ machine: 'server', run: 'fail' }, { machine: 'server', run: 'count shutdown' }] },
  };
}

/** Every binary in the cache already. */
export const CACHED_BINARIES: HostBinaries = { state: async () => ({ missing: [], build: null }), build: async () => {} };

export const FAST_SETUP: LabSetup = { binaries: CACHED_BINARIES, registry: async () => {}, recoveryMs: 2000, pollMs: 10, stateInputs: () => ({ files: 'fake' }) };

/** An engine over the fake provider, with its own state folder. */
export function fakeLab(course: Course = fakeCourse(), provider = new FakeProvider(), lab = 'unit', setup: LabSetup = FAST_SETUP): { engine: LabEngine; provider: FakeProvider } {
  process.env.HARDWAY_STATE = mkdtempSync(join(tmpdir(), 'hardway-unit-'));
  return { engine: new LabEngine(provider, lab, course, setup), provider };
}

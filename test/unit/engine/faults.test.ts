import { describe, expect, it } from 'vitest';
import { actionFailureMessage, actionFailureNext, runActions, type Fault } from '../../../src/engine/faults.ts';
import { fault } from '../../helpers/fake-course.ts';
import { FakeProvider } from '../../helpers/fake-provider.ts';

/** A fault whose second inject action, on node-0, runs `script`. */
function faultFailingWith(script: string): Fault {
  return { ...fault('cni-gone', 'cni', 2), inject: [{ machine: 'server', run: 'count first' }, { machine: 'node-0', run: script }, { machine: 'server', run: 'count third' }] };
}

function seededProvider(): FakeProvider {
  const provider = new FakeProvider();
  provider.seed('unit');
  return provider;
}

describe('running a fault\'s actions', () => {
  it('stops at the first action that fails and says which it was, with its exit code and output', async () => {
    const provider = seededProvider();
    const outcome = await runActions(provider, 'unit', faultFailingWith('fail').inject);
    expect(outcome).toMatchObject({ ok: false, failedAction: 1, exitCode: 1, output: 'failed on purpose' });
    expect(provider.counters.get('first')).toBe(1);
    expect(provider.counters.get('third')).toBeUndefined();
  });

  it('a machine that cannot run the action is a failed action, not a crash', async () => {
    const provider = seededProvider();
    await provider.stop('unit', 'node-0');
    const outcome = await runActions(provider, 'unit', faultFailingWith('count second').inject);
    expect(outcome).toMatchObject({ ok: false, failedAction: 1, exitCode: null });
    expect(outcome.output).toMatch(/is not running/);
  });
});

describe('the message of a failed inject or fix', () => {
  it('names the action by its place in the fault file, its machine, its exit code and its output', async () => {
    const broken = faultFailingWith('fail');
    const outcome = await runActions(seededProvider(), 'unit', broken.inject);
    const message = actionFailureMessage(broken, 'inject', outcome);
    expect(message).toMatch(/^injecting the fault cni-gone failed: action 2 of 3 \(inject\[1\] in labs\/faults\/cni-gone\.yaml\) on node-0 exited with code 1/);
    expect(message).toMatch(/its output ends:\n {2}failed on purpose$/);
  });

  it('says when the action printed nothing, and when it could not be run at all', async () => {
    const silent = faultFailingWith('exit 3');
    expect(actionFailureMessage(silent, 'inject', await runActions(seededProvider(), 'unit', silent.inject))).toMatch(/on node-0 exited with code 3, printing nothing$/);
    const stopped = seededProvider();
    await stopped.stop('unit', 'node-0');
    expect(actionFailureMessage(silent, 'inject', await runActions(stopped, 'unit', silent.inject))).toMatch(/on node-0 could not be run; its output ends:\n {2}.*is not running/);
  });

  it('a failed fix is named as the fix, from the solve list', async () => {
    const broken = { ...fault('cni-gone', 'cni', 2), solve: [{ machine: 'node-1' as const, run: 'exit 2' }] };
    const message = actionFailureMessage(broken, 'solve', await runActions(seededProvider(), 'unit', broken.solve));
    expect(message).toMatch(/^the fix of the fault cni-gone failed: action 1 of 1 \(solve\[0\] in labs\/faults\/cni-gone\.yaml\) on node-1 exited with code 2/);
  });

  it('tells the learner to heal, and the author where to run the action by hand', async () => {
    const broken = faultFailingWith('fail');
    const outcome = await runActions(seededProvider(), 'unit', broken.inject);
    expect(actionFailureNext(broken, 'inject', outcome, ' --lab unit')).toBe('lab heal --lab unit restores the cluster. To watch the action fail: lab shell node-0 --lab unit, then run its lines one at a time');
  });
});

import type { Command } from 'commander';
import pc from 'picocolors';
import { activeFault, checkHealth, clearFault, gradeFix, injectFault, loadFaults, loadHealth, nextFaultHint, runActions, waitForFix, type Fault } from '../../engine/faults.ts';
import type { CheckOutcome } from '../../engine/runner.ts';
import { course, explainingLabFileErrors } from '../../engine/session.ts';
import { fastForward } from '../../engine/runner.ts';
import { LabError } from '../errors.ts';
import { Progress, say } from '../output.ts';
import { checkLabName, engineProvider, labOption } from './machines.ts';
import type { DockerProvider } from '../../../vm/docker-provider.ts';

const faults = (): Fault[] => explainingLabFileErrors(() => loadFaults());
const health = () => explainingLabFileErrors(() => loadHealth());

export function findActiveFault(lab: string): Fault | null {
  const active = activeFault(lab);
  if (!active) return null;
  return faults().find((f) => f.id === active.id) ?? null;
}

function sayFailures(outcome: CheckOutcome): void {
  for (const failure of outcome.failures) say(`  ${pc.red('✗')} ${failure.check.fail}`);
}

/** `lab check` while a fault is active: grades the fix and says which parts are still broken. */
export async function checkFaultFix(lab: string, fault: Fault): Promise<void> {
  const outcome = await gradeFix(await engineProvider(), lab, fault, health());
  if (!outcome.passed) {
    say(`Still broken:`);
    sayFailures(outcome);
    throw new LabError('not fixed yet', 'read the logs (lab logs --since 10m --level warn), or ask for a hint: lab hint');
  }
  clearFault(lab);
  say(`${pc.green('✓')} Fixed: ${fault.title}. Every component is healthy and no shortcut was taken.`);
}

export function hintForFault(lab: string, fault: Fault): void {
  const hint = nextFaultHint(lab, fault, activeFault(lab)!);
  say(`${pc.yellow(`Hint ${hint.index} of ${hint.total}`)}: ${hint.text}`);
}

export function registerFaultCommands(program: Command): void {
  program
    .command('faults')
    .description('list the break-and-fix exercises, with their component and difficulty')
    .action(() => {
      const all = faults();
      const idWidth = Math.max(...all.map((f) => f.id.length));
      const componentWidth = Math.max(...all.map((f) => f.component.length));
      for (const fault of all) {
        say(`${fault.id.padEnd(idWidth)}  ${pc.dim(fault.component.padEnd(componentWidth))} ${'★'.repeat(fault.difficulty).padEnd(3)}  ${fault.title}`);
      }
    });

  program
    .command('break')
    .description('break a healthy cluster on purpose, then find and fix it (lab check grades the fix)')
    .argument('[fault]', 'a fault from lab faults')
    .option('--random', 'pick one at random, without saying which')
    .option('--component <name>', 'with --random: only faults of this component')
    .addOption(labOption())
    .action(async (name: string | undefined, options: { random?: boolean; component?: string; lab: string }) => {
      const lab = checkLabName(options.lab);
      const all = faults();
      if (!name && !options.random) throw new LabError('say which fault to inject, or --random', 'see lab faults', 2);
      const pool = options.random ? all.filter((f) => !options.component || f.component === options.component) : all.filter((f) => f.id === name);
      if (pool.length === 0) {
        throw new LabError(options.random ? `no fault has component "${options.component}"` : `there is no fault "${name}"`, 'see lab faults', 2);
      }
      const current = findActiveFault(lab);
      if (current) throw new LabError('this lab already has a fault to fix', 'fix it (lab check grades the fix), or give up on it: lab giveup');
      const provider = await engineProvider();
      const healthy = await checkHealth(provider, lab, health());
      if (!healthy.passed) {
        sayFailures(healthy);
        throw new LabError('the cluster is not healthy, so breaking it would teach nothing', `build it with lab up 14${lab === 'main' ? '' : ` --lab ${lab}`}, or restore it with lab heal`);
      }
      const fault = pool[Math.floor(Math.random() * pool.length)]!;
      const injected = await injectFault(provider, lab, fault);
      if (!injected.ok) throw new LabError(`injecting the fault failed:\n${injected.output}`, 'lab heal restores the cluster');
      say(options.random ? pc.bold('Something in your cluster just broke.') : pc.bold(`Injected: ${fault.title}`));
      say(`Symptom: ${fault.symptom}`);
      say(`Find the cause with lab logs (and the components' own tools), fix it, then run lab check. lab hint helps; lab giveup shows the answer.`);
    });

  program
    .command('giveup')
    .description('show the fix for the active fault, apply it, and wait for a healthy cluster')
    .addOption(labOption())
    .action(async (options: { lab: string }) => {
      const lab = checkLabName(options.lab);
      const fault = findActiveFault(lab);
      if (!fault) throw new LabError('no fault is active in this lab', 'break one first: lab break --random');
      say(`${pc.bold(fault.title)} — it was injected like this:`);
      for (const action of fault.inject) say(pc.dim(`# on ${action.machine}:\n${action.run.trim()}`));
      say('The fix:');
      for (const action of fault.solve) say(pc.dim(`# on ${action.machine}:\n${action.run.trim()}`));
      const provider = await engineProvider();
      const solved = await runActions(provider, lab, fault.solve);
      if (!solved.ok) throw new LabError(`the fix failed to run:\n${solved.output}`, 'lab heal restores the cluster the long way');
      const progress = new Progress('waiting for a healthy cluster');
      progress.update('checking');
      const outcome = await waitForFix(provider, lab, fault, health());
      if (!outcome.passed) {
        sayFailures(outcome);
        throw new LabError('the cluster is still not healthy', 'run lab heal');
      }
      clearFault(lab);
      progress.done('healthy again');
    });

  program
    .command('heal')
    .description('restore the lab to a healthy cluster, whatever was broken')
    .addOption(labOption())
    .action(async (options: { lab: string }) => {
      const lab = checkLabName(options.lab);
      const provider = await engineProvider();
      await heal(provider, lab);
    });
}

/** The active fault's fix, then every chapter's steps re-checked and re-solved where their state is broken. */
export async function heal(provider: DockerProvider, lab: string): Promise<void> {
  const fault = findActiveFault(lab);
  if (fault) await runActions(provider, lab, fault.solve);
  const chapters = course();
  const progress = new Progress('healing');
  const last = Math.max(...chapters.map((c) => c.number));
  await fastForward(provider, lab, chapters, last, ({ chapter, step, action }) => {
    if (action === 'solved') progress.update(`${chapter.number}/${step.id} restored`);
  });
  clearFault(lab);
  const outcome = await checkHealth(provider, lab, health());
  if (!outcome.passed) {
    sayFailures(outcome);
    throw new LabError('the cluster is still not healthy after healing', `lab down${lab === 'main' ? '' : ` --lab ${lab}`} and lab up 14 start afresh`);
  }
  progress.done('every component is healthy');
}

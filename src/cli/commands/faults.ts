import { Option, type Command } from 'commander';
import pc from 'picocolors';
import { LabError } from '../../util/errors.ts';
import { say } from '../../util/output.ts';
import { labFlag, labOption, openLab } from '../context.ts';
import { failureMessage, type CheckOutcome } from '../../engine/runner.ts';
import { actionFailureMessage, actionFailureNext } from '../../engine/faults.ts';

const sayFailures = (outcome: CheckOutcome): void => outcome.failures.forEach((failure) => say(`  ${pc.red('✗')} ${failureMessage(failure)}`));

export function registerFaultCommands(program: Command): void {
  program
    .command('faults')
    .description('list the break-and-fix exercises, with their component and difficulty')
    .action(async () => {
      const all = (await openLab('main', { machines: false })).course.faults;
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
    .addOption(new Option('--difficulty <stars>', 'with --random: only faults of this difficulty').choices(['1', '2', '3']))
    .addOption(labOption())
    .action(async (name: string | undefined, options: { random?: boolean; component?: string; difficulty?: string; lab: string }) => {
      if (!name && !options.random) throw new LabError('say which fault to inject, or --random', 'see lab faults', 2);
      const engine = await openLab(options.lab);
      const { UnhealthyClusterError } = await import('../../engine/lab.ts');
      try {
        const request = name ? { id: name } : { component: options.component, difficulty: options.difficulty ? Number(options.difficulty) : undefined };
        const fault = await engine.breakCluster(request);
        say(name ? pc.bold(`Injected: ${fault.title}`) : pc.bold('Something in your cluster just broke.'));
        say(`Symptom: ${fault.symptom}`);
        say(`Find the cause with lab logs (and the components' own tools), fix it, then run lab check. lab hint helps; lab giveup shows the answer.`);
      } catch (error) {
        if (error instanceof UnhealthyClusterError) sayFailures(error.outcome);
        throw error;
      }
    });

  program
    .command('giveup')
    .description('show the fix for the active fault, apply it, and wait for a healthy cluster')
    .addOption(labOption())
    .action(async (options: { lab: string }) => {
      const engine = await openLab(options.lab);
      const active = engine.activeFault();
      if (!active) throw new LabError('no fault is active in this lab', 'break one first: lab break --random');
      say(`${pc.bold(active.fault.title)} — it was injected like this:`);
      for (const action of active.fault.inject) say(pc.dim(`# on ${action.machine}:\n${action.run.trim()}`));
      say('The fix:');
      for (const action of active.fault.solve) say(pc.dim(`# on ${action.machine}:\n${action.run.trim()}`));
      const { fix, outcome } = await engine.giveUp();
      if (!fix.ok) throw new LabError(actionFailureMessage(active.fault, 'solve', fix), actionFailureNext(active.fault, 'solve', fix, labFlag(engine.lab)));
      if (!outcome.passed) {
        sayFailures(outcome);
        throw new LabError('the cluster is still not healthy', `run lab heal${labFlag(engine.lab)}`);
      }
    });

  program
    .command('heal')
    .description('restore the lab to a healthy cluster, whatever was broken')
    .addOption(labOption())
    .action(async (options: { lab: string }) => {
      const engine = await openLab(options.lab);
      const { outcome } = await engine.heal();
      if (!outcome.passed) {
        sayFailures(outcome);
        throw new LabError('the cluster is still not healthy after healing', `lab down${labFlag(engine.lab)} and lab up ${engine.clusterChapter}${labFlag(engine.lab)} start afresh`);
      }
    });
}

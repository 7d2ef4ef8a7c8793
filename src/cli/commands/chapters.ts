import type { Command } from 'commander';
import pc from 'picocolors';
import { LabError } from '../../util/errors.ts';
import { say } from '../../util/output.ts';
import { labFlag, labOption, openLab } from '../context.ts';
import { failureMessage, type CheckOutcome } from '../../engine/runner.ts';

const sayFailures = (outcome: CheckOutcome): void => outcome.failures.forEach((failure) => say(`  ${pc.red('✗')} ${failureMessage(failure)}`));

export function registerChapterCommands(program: Command): void {
  program
    .command('chapters')
    .description('list the chapters and how far you are in each')
    .addOption(labOption())
    .action(async (options: { lab: string }) => {
      const engine = await openLab(options.lab, { machines: false });
      const progress = engine.progress();
      for (const chapter of engine.course.chapters) {
        const done = chapter.steps.filter((s) => engine.passed(chapter, s, progress)).length;
        const mark = done === chapter.steps.length ? pc.green('✓') : chapter.number === progress.chapter ? pc.cyan('›') : ' ';
        say(`${mark} ${String(chapter.number).padStart(2)}  ${chapter.title.padEnd(40)} ${pc.dim(`${done}/${chapter.steps.length} steps`)}`);
      }
    });

  program
    .command('progress')
    .description('show every step of the current chapter and which have passed')
    .addOption(labOption())
    .action(async (options: { lab: string }) => {
      const engine = await openLab(options.lab, { machines: false });
      const { chapter, progress } = engine.position();
      say(pc.bold(`Chapter ${chapter.number}: ${chapter.title}`));
      for (const step of chapter.steps) {
        const passed = engine.passed(chapter, step, progress);
        say(`  ${passed ? pc.green('✓') : '·'} ${step.id.padEnd(20)} ${step.title}`);
      }
      if (progress.fault) say(pc.yellow(`A fault is active: lab check grades its fix.`));
    });

  program
    .command('show')
    .description('print the current step\'s instructions (or a named step\'s)')
    .argument('[step]', 'a step id of the current chapter, or N/step-id')
    .addOption(labOption())
    .action(async (name: string | undefined, options: { lab: string }) => {
      const { chapter, step } = (await openLab(options.lab, { machines: false })).step(name);
      say(pc.bold(`Chapter ${chapter.number} · ${step.title}  (on ${step.machine})`));
      say(step.prose);
    });

  program
    .command('check')
    .description('grade the current step (or a named one) by the state of the machines; with a fault injected, grade its fix')
    .argument('[step]', 'a step id of the current chapter, or N/step-id')
    .addOption(labOption())
    .action(async (name: string | undefined, options: { lab: string }) => {
      const engine = await openLab(options.lab);
      const result = await engine.check(name);
      if (result.kind === 'fault') {
        if (!result.outcome.passed) {
          say('Still broken:');
          sayFailures(result.outcome);
          throw new LabError('not fixed yet', 'read the logs (lab logs --since 10m --level warn), or ask for a hint: lab hint');
        }
        say(`${pc.green('✓')} Fixed: ${result.fault.title}. Every component is healthy and no shortcut was taken.`);
        return;
      }
      const { chapter, step, outcome, next } = result;
      if (!outcome.passed) {
        say(`${pc.red('✗')} ${step.title}`);
        for (const failure of outcome.failures) say(`  ${failureMessage(failure)}`);
        throw new LabError('not yet', 'fix what is said above and run lab check again, or ask for a hint: lab hint');
      }
      say(`${pc.green('✓')} ${step.title}`);
      if (next.step) say(`Next: ${next.step.title} (lab show)`);
      else if (chapter.number < engine.lastChapter) say(`Chapter ${chapter.number} is complete. Go on with: lab up ${chapter.number + 1}${labFlag(engine.lab)}`);
      else say('You have finished the course.');
    });

  program
    .command('hint')
    .description('show the next hint for the current step (or the injected fault); each call says a little more')
    .argument('[step]', 'a step id of the current chapter, or N/step-id')
    .addOption(labOption())
    .action(async (name: string | undefined, options: { lab: string }) => {
      const { hint } = await (await openLab(options.lab, { machines: false })).hint(name);
      say(`${pc.yellow(`Hint ${hint.index} of ${hint.total}`)}: ${hint.text}`);
      if (hint.index === hint.total) say(pc.dim(name === undefined ? 'That was the last hint; lab solve (or lab giveup, for a fault) shows the answer.' : 'That was the last hint; lab solve shows and runs the solution.'));
    });

  program
    .command('solve')
    .description('run the solution of the current step (or a named one) and grade it')
    .argument('[step]', 'a step id of the current chapter, or N/step-id')
    .addOption(labOption())
    .action(async (name: string | undefined, options: { lab: string }) => {
      const engine = await openLab(options.lab);
      const { step } = engine.step(name);
      say(pc.dim(`# on ${step.machine}:\n${step.solve.trim()}`));
      const { SolveError } = await import('../../engine/runner.ts');
      let outcome;
      try {
        ({ outcome } = await engine.solve(name));
      } catch (error) {
        if (error instanceof SolveError) throw new LabError(error.message, 'read the output above; lab show explains the step, and lab check says what is still missing');
        throw error;
      }
      if (!outcome.passed) throw new LabError(`the solution ran but the step still fails: ${failureMessage(outcome.failures[0]!)}`, 'this is a bug in the lab: please report it');
      say(`${pc.green('✓')} ${step.title}`);
    });
}

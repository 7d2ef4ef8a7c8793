import type { Command } from 'commander';
import pc from 'picocolors';
import { checkAndRecord, nextHint, solveAndRecord } from '../../engine/actions.ts';
import { SolveError } from '../../engine/runner.ts';
import { readProgress, stepKey } from '../../engine/progress.ts';
import { course, currentPosition, resolveStep } from '../../engine/session.ts';
import { LabError } from '../errors.ts';
import { checkFaultFix, findActiveFault, hintForFault } from './faults.ts';
import { say } from '../output.ts';
import { checkLabName, engineProvider, labOption } from './machines.ts';

export function registerChapterCommands(program: Command): void {
  program
    .command('chapters')
    .description('list the chapters and how far you are in each')
    .addOption(labOption())
    .action((options: { lab: string }) => {
      const progress = readProgress(checkLabName(options.lab));
      for (const chapter of course()) {
        const done = chapter.steps.filter((s) => progress.passed.includes(stepKey(chapter.number, s.id))).length;
        const mark = done === chapter.steps.length ? pc.green('✓') : chapter.number === progress.chapter ? pc.cyan('›') : ' ';
        say(`${mark} ${String(chapter.number).padStart(2)}  ${chapter.title.padEnd(40)} ${pc.dim(`${done}/${chapter.steps.length} steps`)}`);
      }
    });

  program
    .command('progress')
    .description('show every step of the current chapter and which have passed')
    .addOption(labOption())
    .action((options: { lab: string }) => {
      const lab = checkLabName(options.lab);
      const { chapter, progress } = currentPosition(lab, course());
      say(pc.bold(`Chapter ${chapter.number}: ${chapter.title}`));
      for (const step of chapter.steps) {
        const passed = progress.passed.includes(stepKey(chapter.number, step.id));
        say(`  ${passed ? pc.green('✓') : '·'} ${step.id.padEnd(20)} ${step.title}`);
      }
    });

  program
    .command('show')
    .description('print the current step\'s instructions (or a named step\'s)')
    .argument('[step]', 'a step id of the current chapter, or N/step-id')
    .addOption(labOption())
    .action((name: string | undefined, options: { lab: string }) => {
      const { chapter, step } = resolveStep(checkLabName(options.lab), course(), name);
      say(pc.bold(`Chapter ${chapter.number} · ${step.title}  (on ${step.machine})`));
      say(step.prose);
    });

  program
    .command('check')
    .description('grade the current step (or a named one) by the state of the machines; with a fault injected, grade its fix')
    .argument('[step]', 'a step id of the current chapter, or N/step-id')
    .addOption(labOption())
    .action(async (name: string | undefined, options: { lab: string }) => {
      const lab = checkLabName(options.lab);
      const fault = name ? null : findActiveFault(lab);
      if (fault) return checkFaultFix(lab, fault);
      const chapters = course();
      const { chapter, step } = resolveStep(lab, chapters, name);
      const outcome = await checkAndRecord(await engineProvider(), lab, chapter, step);
      if (!outcome.passed) {
        say(`${pc.red('✗')} ${step.title}`);
        for (const failure of outcome.failures) say(`  ${failure.check.fail}`);
        throw new LabError('not yet', 'fix what is said above and run lab check again, or ask for a hint: lab hint');
      }
      say(`${pc.green('✓')} ${step.title}`);
      const next = currentPosition(lab, chapters);
      if (next.step) say(`Next: ${next.step.title} (lab show)`);
      else if (chapters.some((c) => c.number === chapter.number + 1)) say(`Chapter ${chapter.number} is complete. Go on with: lab up ${chapter.number + 1}`);
      else say('You have finished the course.');
    });

  program
    .command('hint')
    .description('show the next hint for the current step (or the injected fault); each call says a little more')
    .argument('[step]', 'a step id of the current chapter, or N/step-id')
    .addOption(labOption())
    .action((name: string | undefined, options: { lab: string }) => {
      const lab = checkLabName(options.lab);
      const fault = name ? null : findActiveFault(lab);
      if (fault) return hintForFault(lab, fault);
      const { chapter, step } = resolveStep(lab, course(), name);
      const hint = nextHint(lab, chapter, step);
      say(`${pc.yellow(`Hint ${hint.index} of ${hint.total}`)}: ${hint.text}`);
      if (hint.index === hint.total) say(pc.dim('That was the last hint; lab solve shows and runs the solution.'));
    });

  program
    .command('solve')
    .description('run the solution of the current step (or a named one) and grade it')
    .argument('[step]', 'a step id of the current chapter, or N/step-id')
    .addOption(labOption())
    .action(async (name: string | undefined, options: { lab: string }) => {
      const lab = checkLabName(options.lab);
      const { chapter, step } = resolveStep(lab, course(), name);
      const provider = await engineProvider();
      say(pc.dim(`# on ${step.machine}:\n${step.solve.trim()}`));
      let outcome;
      try {
        outcome = await solveAndRecord(provider, lab, chapter, step);
      } catch (error) {
        if (error instanceof SolveError) throw new LabError(error.message, 'read the output above; lab show explains the step, and lab check says what is still missing');
        throw error;
      }
      if (!outcome.passed) throw new LabError(`the solution ran but the step still fails: ${outcome.failures[0]!.check.fail}`, 'this is a bug in the lab: please report it');
      say(`${pc.green('✓')} ${step.title}`);
    });
}

import type { Command } from 'commander';
import pc from 'picocolors';
import { LabError } from '../../util/errors.ts';
import { say } from '../../util/output.ts';
import { labFlag, labOption, openLab } from '../context.ts';
import type { LabEngine } from '../../engine/lab.ts';
import { checkReport, labReport, type LabReport } from '../../engine/report.ts';
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
    .option('--json', 'print one JSON document instead: the step or fault, whether it passed, each failing check\'s message and output (same exit code)')
    .action(async (name: string | undefined, options: { lab: string; json?: boolean }) => {
      if (options.json) return checkAsJson(options.lab, name);
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
    .command('report')
    .description('every step of every chapter: passed or not, and when; the chapter you are on')
    .addOption(labOption())
    .option('--json', 'print one JSON document instead')
    .action(async (options: { lab: string; json?: boolean }) => {
      const engine = await openLab(options.lab, { machines: false });
      const report = labReport(engine.lab, engine.course, engine.progress());
      say(options.json ? JSON.stringify(report, null, 2) : formatLabReport(report).join('\n'));
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

/**
 * `lab check --json`: one JSON document on stdout, whatever happens: the grade, or the error that
 * stopped it ({lab, error, next}). The exit code is the human form's: 0 when it passed, else the error's.
 */
export async function checkAsJson(lab: string, name: string | undefined, open: (lab: string) => Promise<LabEngine> = openLab): Promise<void> {
  let report;
  try {
    report = checkReport(lab, await (await open(lab)).check(name));
  } catch (error) {
    say(JSON.stringify({ lab, error: error instanceof Error ? error.message : String(error), ...(error instanceof LabError && error.next ? { next: error.next } : {}) }, null, 2));
    throw error;
  }
  say(JSON.stringify(report, null, 2));
  if (!report.passed) throw new LabError(report.kind === 'fault' ? 'not fixed yet' : 'not yet', 'the failures are in the JSON above');
}

/** `lab report` for people: a line per chapter (done, current), a line per step with when it passed. */
export function formatLabReport(report: LabReport): string[] {
  const lines = [pc.bold(`Lab ${report.lab}: ${report.passed} of ${report.total} steps passed; on chapter ${report.currentChapter}`)];
  for (const chapter of report.chapters) {
    const done = chapter.passed === chapter.steps.length;
    const mark = done ? pc.green('✓') : chapter.current ? pc.cyan('›') : ' ';
    lines.push(`${mark} ${String(chapter.number).padStart(2)}  ${chapter.title.padEnd(44)} ${pc.dim(`${chapter.passed}/${chapter.steps.length}`)}${chapter.current ? pc.cyan('  (current)') : ''}`);
    for (const step of chapter.steps) {
      const when = step.passedAt ? localTime(step.passedAt) : step.passed ? 'passed, time not kept' : '';
      lines.push(`      ${step.passed ? pc.green('✓') : '·'} ${step.id.padEnd(22)} ${when ? `${step.title.padEnd(44)} ${pc.dim(when)}` : step.title}`);
    }
  }
  if (report.fault) lines.push(pc.yellow(report.fault.hidden ? 'A surprise fault is active: lab check grades its fix.' : `A fault is active (${report.fault.id}): lab check grades its fix.`));
  return lines;
}

/** An ISO time as this machine's local date and time, to the second. */
function localTime(iso: string): string {
  const d = new Date(iso);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

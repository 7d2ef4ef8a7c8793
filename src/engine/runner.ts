import type { ScriptResult } from '../../vm/exec-scripts.ts';
import type { MachineProvider } from '../../vm/provider.ts';
import { timeScale } from '../util/time.ts';
import type { Chapter, Check, MachineName, Step } from './course.ts';

export interface CheckFailure {
  check: Check;
  /** What the check command printed, for those who want to dig. */
  output: string;
  /** The check ran out of time: the host was too slow to tell, which is not a verdict on the step. */
  timedOut?: boolean;
}

export interface CheckOutcome {
  passed: boolean;
  failures: CheckFailure[];
}

/** Measured: the slowest check (kubectl through the API server on 2 busy cores) takes a few seconds. */
export const CHECK_TIMEOUT_MS = 30_000;
const checkLimitMs = (): number => CHECK_TIMEOUT_MS * timeScale();

/** What to tell the learner about a failed check: its own message, or, when it ran out of time, that the host was slow. */
export function failureMessage(failure: CheckFailure): string {
  if (!failure.timedOut) return failure.check.fail;
  return `Too slow to grade: a check did not finish within ${Math.round(checkLimitMs() / 1000)} s. The host may be busy or slow; check again, or allow more time with HARDWAY_TIME_SCALE=3.`;
}

/** Runs every check of a step in its machine; the exit code of each is the verdict. */
export function checkStep(provider: MachineProvider, lab: string, step: Step): Promise<CheckOutcome> {
  return runChecks(provider, lab, step.checks, step.machine);
}

/** Runs checks, each in its machine (or the default one); all are run, so every failure is reported. */
export async function runChecks(provider: MachineProvider, lab: string, checks: Check[], defaultMachine: MachineName = 'jumpbox'): Promise<CheckOutcome> {
  const results = await runOnMachines(provider, lab, checks.map((check) => ({ check, machine: check.machine ?? defaultMachine })));
  return outcomeOf(checks, results);
}

function outcomeOf(checks: Check[], results: ScriptResult[]): CheckOutcome {
  const failures = checks.flatMap((check, i) => {
    const result = results[i]!;
    if (result.exitCode === 0) return [];
    return [{ check, output: (result.stdout + result.stderr).trim(), ...(result.timedOut ? { timedOut: true } : {}) }];
  });
  return { passed: failures.length === 0, failures };
}

/** Runs each check in its machine, all at once: one batch per machine when the provider has execScripts. */
async function runOnMachines(provider: MachineProvider, lab: string, checks: { check: Check; machine: MachineName }[]): Promise<ScriptResult[]> {
  const options = { timeoutMs: checkLimitMs(), workdir: '/root' };
  // A check that hangs (say, kubectl while the API server is down) has failed, not crashed; it says it was slow.
  const failed = (error: unknown): ScriptResult => {
    const message = error instanceof Error ? error.message : String(error);
    return { exitCode: -1, stdout: '', stderr: message, timedOut: /did not finish within/.test(message) };
  };
  // the grader's tools when the provider has them (a learner's kubectl or systemctl grades nothing)
  const batch = provider.gradeScripts?.bind(provider) ?? provider.execScripts?.bind(provider);
  if (!batch) {
    return Promise.all(checks.map(({ check, machine }) => provider.exec(lab, machine, ['bash', '-c', check.run], options).then((r) => ({ ...r, timedOut: false }), failed)));
  }
  const results: ScriptResult[] = new Array<ScriptResult>(checks.length);
  const machines = [...new Set(checks.map((c) => c.machine))];
  await Promise.all(
    machines.map(async (machine) => {
      const indexes = checks.flatMap((c, i) => (c.machine === machine ? [i] : []));
      const ran = await batch(lab, machine, indexes.map((i) => checks[i]!.check.run), options).catch((error: unknown) => indexes.map(() => failed(error)));
      indexes.forEach((checkIndex, i) => (results[checkIndex] = ran[i]!));
    }),
  );
  return results;
}

/** How long a solution, a fault's inject or its fix may run before it is stopped. */
const SCRIPT_TIMEOUT_MS = 600_000;
const scriptLimitMs = (): number => SCRIPT_TIMEOUT_MS * timeScale();
const OUTPUT_LINES = 15;
const OUTPUT_CHARS = 2000;

/**
 * Says where the script stopped: under -e a silent failure (grep -q, test, a check after a sed that
 * matched nothing) would otherwise leave no output at all. The trap is the first line, so the
 * script's own lines are LINENO - 1; the line's text is added here, from the script itself.
 */
const SAY_FAILED_LINE = `trap 'echo "hardway: line $((LINENO - 1)) failed with exit code $?" >&2' ERR\n`;
const FAILED_LINE = /^hardway: line (\d+) failed with exit code \d+$/m;

function withFailedLine(output: string, script: string): string {
  return output.replace(FAILED_LINE, (said, line: string) => `${said}: ${script.split('\n')[Number(line) - 1]?.trim() ?? ''}`);
}

/** The end of what a script printed: its last lines, and no more than a screenful of characters. */
export function outputTail(text: string): string {
  const lines = text.trim().split('\n');
  let tail = lines.slice(-OUTPUT_LINES).join('\n');
  if (tail.length > OUTPUT_CHARS) tail = tail.slice(-OUTPUT_CHARS);
  return tail.length < text.trim().length ? `…\n${tail}` : tail;
}

/** Runs a script as root in the machine with bash -euo pipefail: it stops at the first command that fails. */
export async function runScript(provider: MachineProvider, lab: string, machine: MachineName, script: string): Promise<ExecOutcome> {
  const result = await provider.exec(lab, machine, ['bash', '-euo', 'pipefail', '-c', SAY_FAILED_LINE + script], { timeoutMs: scriptLimitMs(), workdir: '/root', env: { HOME: '/root' } });
  return { ok: result.exitCode === 0, exitCode: result.exitCode, output: outputTail(withFailedLine(result.stdout + result.stderr, script)) };
}

export interface ExecOutcome {
  ok: boolean;
  /** The script's exit code; null when it could not be run or did not finish (output then says why). */
  exitCode: number | null;
  /** The tail of its standard output and error. */
  output: string;
}

export class SolveError extends Error {
  constructor(
    readonly step: Step,
    readonly output: string,
  ) {
    super(`the solution of step "${step.title}" failed:\n${output}`);
  }
}

/** Runs a step's solution as a root bash script in its machine, stopping at the first failing command. */
export async function solveStep(provider: MachineProvider, lab: string, step: Step): Promise<void> {
  const outcome = await runScript(provider, lab, step.machine, step.solve);
  if (!outcome.ok) throw new SolveError(step, outcome.output);
}

export interface StepEvent {
  chapter: Chapter;
  step: Step;
  action: 'already-done' | 'solved';
}

/**
 * Brings the lab to the start of `target`: every step of every earlier chapter is checked, and
 * solved only when its check fails. Re-running after a failure continues where it stopped.
 */
export async function fastForward(
  provider: MachineProvider,
  lab: string,
  chapters: Chapter[],
  target: number,
  onStep: (event: StepEvent) => void | Promise<void>,
): Promise<void> {
  for (const chapter of chapters.filter((c) => c.number < target)) {
    for (const step of chapter.steps) {
      if ((await checkStep(provider, lab, step)).passed) {
        await onStep({ chapter, step, action: 'already-done' });
        continue;
      }
      await solveStep(provider, lab, step);
      const after = await checkStep(provider, lab, step);
      if (!after.passed) throw new SolveError(step, after.failures.map((f) => `${f.check.fail}\n${f.output}`).join('\n'));
      await onStep({ chapter, step, action: 'solved' });
    }
  }
}

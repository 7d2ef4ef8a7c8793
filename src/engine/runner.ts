import type { MachineProvider } from '../../vm/provider.ts';
import type { Chapter, Check, Step } from './course.ts';

export interface CheckFailure {
  check: Check;
  /** What the check command printed, for those who want to dig. */
  output: string;
}

export interface CheckOutcome {
  passed: boolean;
  failures: CheckFailure[];
}

const CHECK_TIMEOUT_MS = 60_000;
const SOLVE_TIMEOUT_MS = 600_000;

/** Runs every check of a step in its machine; the exit code of each is the verdict. */
export async function checkStep(provider: MachineProvider, lab: string, step: Step): Promise<CheckOutcome> {
  const failures: CheckFailure[] = [];
  for (const check of step.checks) {
    const result = await provider.exec(lab, check.machine ?? step.machine, ['bash', '-c', check.run], { timeoutMs: CHECK_TIMEOUT_MS });
    if (result.exitCode !== 0) failures.push({ check, output: (result.stdout + result.stderr).trim() });
  }
  return { passed: failures.length === 0, failures };
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
  const result = await provider.exec(lab, step.machine, ['bash', '-euo', 'pipefail', '-c', step.solve], {
    timeoutMs: SOLVE_TIMEOUT_MS,
    workdir: '/root',
    env: { HOME: '/root' },
  });
  if (result.exitCode !== 0) throw new SolveError(step, (result.stdout + result.stderr).trim().split('\n').slice(-15).join('\n'));
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
  onStep: (event: StepEvent) => void,
): Promise<void> {
  for (const chapter of chapters.filter((c) => c.number < target)) {
    for (const step of chapter.steps) {
      if ((await checkStep(provider, lab, step)).passed) {
        onStep({ chapter, step, action: 'already-done' });
        continue;
      }
      await solveStep(provider, lab, step);
      const after = await checkStep(provider, lab, step);
      if (!after.passed) throw new SolveError(step, after.failures.map((f) => `${f.check.fail}\n${f.output}`).join('\n'));
      onStep({ chapter, step, action: 'solved' });
    }
  }
}

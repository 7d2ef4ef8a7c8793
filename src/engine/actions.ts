import type { MachineProvider } from '../../vm/provider.ts';
import type { Chapter, Step } from './course.ts';
import { markPassed, readProgress, stepKey, writeProgress } from './progress.ts';
import { checkStep, solveStep, type CheckOutcome } from './runner.ts';

/** What the CLI and the browser both do to a step: the one engine behind both front ends. */

export async function checkAndRecord(provider: MachineProvider, lab: string, chapter: Chapter, step: Step): Promise<CheckOutcome> {
  const outcome = await checkStep(provider, lab, step);
  if (outcome.passed) writeProgress(lab, markPassed(readProgress(lab), stepKey(chapter.number, step.id)));
  return outcome;
}

export async function solveAndRecord(provider: MachineProvider, lab: string, chapter: Chapter, step: Step): Promise<CheckOutcome> {
  await solveStep(provider, lab, step);
  return checkAndRecord(provider, lab, chapter, step);
}

export interface HintShown {
  text: string;
  index: number;
  total: number;
}

/** The next rung of the step's hint ladder (the last one again once all are shown). */
export function nextHint(lab: string, chapter: Chapter, step: Step): HintShown {
  const progress = readProgress(lab);
  const key = stepKey(chapter.number, step.id);
  const index = Math.min(progress.hintsShown[key] ?? 0, step.hints.length - 1);
  writeProgress(lab, { ...progress, hintsShown: { ...progress.hintsShown, [key]: index + 1 } });
  return { text: step.hints[index]!, index: index + 1, total: step.hints.length };
}

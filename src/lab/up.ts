import { ALL_SOURCES, manifestComponents, obtainAll, parseSources } from '../artifacts/obtain.ts';
import { LabError } from '../cli/errors.ts';
import { Progress } from '../cli/output.ts';
import { fastForward, SolveError } from '../engine/runner.ts';
import { markPassed, readProgress, stepKey, writeProgress } from '../engine/progress.ts';
import { chapterByNumber, course } from '../engine/session.ts';
import type { DockerProvider } from '../../vm/docker-provider.ts';
import { bringUpMachines, type MachineHealth } from './machines.ts';
import { stockRegistry } from './registry.ts';

/**
 * Machines, binaries, then the solutions of every chapter before `chapter`, so the learner lands at
 * its start. Safe to re-run: steps whose checks already pass are not solved again.
 */
export async function labUp(lab: string, provider: DockerProvider, chapter?: number): Promise<MachineHealth[]> {
  const chapters = chapter === undefined ? [] : course();
  if (chapter !== undefined) chapterByNumber(chapters, chapter);

  const required = manifestComponents().filter((component) => !component.optional);
  await obtainAll(required, {
    sources: parseSources(process.env.HARDWAY_SOURCES ?? ALL_SOURCES.join(',')),
    mirror: process.env.HARDWAY_MIRROR,
    binDir: process.env.HARDWAY_BIN_DIR,
  });
  const health = await bringUpMachines(lab, provider);
  await stockRegistry(lab, provider);
  if (chapter === undefined) return health;

  const earlier = chapters.filter((c) => c.number < chapter);
  const total = earlier.reduce((sum, c) => sum + c.steps.length, 0);
  const progress = new Progress(`chapters before ${chapter}`);
  let done = 0;
  let state = readProgress(lab);
  try {
    await fastForward(provider, lab, chapters, chapter, ({ chapter: c, step, action }) => {
      done += 1;
      progress.update(`${done}/${total} ${c.number}/${step.id} ${action === 'solved' ? 'solved' : 'already done'}`);
      state = markPassed(state, stepKey(c.number, step.id));
      writeProgress(lab, state);
    });
  } catch (error) {
    if (error instanceof SolveError) {
      throw new LabError(`replaying "${error.step.title}" failed:\n${error.output}`, `run lab up ${chapter} again (it continues where it stopped); if it fails the same way, lab down and start over`);
    }
    throw error;
  }
  writeProgress(lab, { ...state, chapter });
  progress.done(total === 0 ? 'nothing to replay' : `${total} steps replayed or already done`);
  return health;
}

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../host/paths.ts';

/** What a learner has done in one lab; kept on disk so it survives CLI and host restarts. */
export interface Progress {
  /** The chapter the learner is working on. */
  chapter: number;
  /** "chapter/step" keys whose checks have passed. */
  passed: string[];
  /** How many hints of each step have been shown. */
  hintsShown: Record<string, number>;
  /** The fault injected into this lab, while it is not fixed. */
  fault?: { id: string; since: number; hintsShown: number };
}

export const stepKey = (chapter: number, stepId: string): string => `${chapter}/${stepId}`;

const progressFile = (lab: string): string => join(stateDir(), 'labs', lab, 'progress.json');

export function readProgress(lab: string): Progress {
  const file = progressFile(lab);
  if (!existsSync(file)) return { chapter: 1, passed: [], hintsShown: {} };
  return JSON.parse(readFileSync(file, 'utf8')) as Progress;
}

export function writeProgress(lab: string, progress: Progress): void {
  const file = progressFile(lab);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(progress, null, 2));
  renameSync(`${file}.tmp`, file);
}

export function markPassed(progress: Progress, key: string): Progress {
  return progress.passed.includes(key) ? progress : { ...progress, passed: [...progress.passed, key] };
}

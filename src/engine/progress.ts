import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { LabError } from '../util/errors.ts';
import { stateDir } from '../util/paths.ts';

/** The fault injected into a lab, while it is not fixed. */
export interface ActiveFault {
  id: string;
  /** Whether the learner chose it (its title may be shown) or asked for a surprise (it stays hidden). */
  hidden: boolean;
  hintsShown: number;
}

/** What a learner has done in one lab; kept on disk so it survives CLI, server and host restarts. */
export interface Progress {
  /** The chapter the learner is working on. */
  chapter: number;
  /** "chapter/step" keys whose checks have passed. */
  passed: string[];
  /** How many hints of each step have been shown. */
  hintsShown: Record<string, number>;
  fault?: ActiveFault;
}

export const stepKey = (chapter: number, stepId: string): string => `${chapter}/${stepId}`;

const labStateDir = (lab: string): string => join(stateDir(), 'labs', lab);
const progressFile = (lab: string): string => join(labStateDir(lab), 'progress.json');
const FRESH: Progress = { chapter: 1, passed: [], hintsShown: {} };

export function readProgress(lab: string): Progress {
  const file = progressFile(lab);
  if (!existsSync(file)) return { ...FRESH, passed: [], hintsShown: {} };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Progress>;
    if (typeof parsed.chapter !== 'number' || !Array.isArray(parsed.passed)) throw new Error('not a progress record');
    return { chapter: parsed.chapter, passed: parsed.passed, hintsShown: parsed.hintsShown ?? {}, ...(parsed.fault ? { fault: parsed.fault } : {}) };
  } catch (error) {
    throw new LabError(`the progress file ${file} is damaged (${(error as Error).message})`, `move it away and run the command again; lab up <chapter> rebuilds what the checks can grade`);
  }
}

/**
 * Changes a lab's progress as one step: read, change, write, under a lock, so the CLI and a server
 * working on the same lab at once cannot lose each other's updates. The write is atomic.
 */
export async function updateProgress(lab: string, change: (progress: Progress) => Progress): Promise<Progress> {
  const dir = labStateDir(lab);
  mkdirSync(dir, { recursive: true });
  const release = await lockfile.lock(dir, { lockfilePath: join(dir, 'progress.lock'), retries: { retries: 50, minTimeout: 20, maxTimeout: 200 }, stale: 10_000 });
  try {
    const next = change(readProgress(lab));
    const temporary = `${progressFile(lab)}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, JSON.stringify(next, null, 2));
    renameSync(temporary, progressFile(lab));
    return next;
  } finally {
    await release();
  }
}

/** Forgets everything about a lab: `lab down` leaves no stale ticks or phantom fault for the next one of that name. */
export function clearProgress(lab: string): void {
  rmSync(labStateDir(lab), { recursive: true, force: true });
}

const registryMarker = (lab: string): string => join(labStateDir(lab), 'registry-stocked');

/** Whether this lab's registry was stocked since its machines were made (lab down forgets it with the rest). */
export const registryStocked = (lab: string): boolean => existsSync(registryMarker(lab));

export function markRegistry(lab: string, stocked: boolean): void {
  if (!stocked) return rmSync(registryMarker(lab), { force: true });
  mkdirSync(labStateDir(lab), { recursive: true });
  writeFileSync(registryMarker(lab), `${new Date().toISOString()}\n`);
}

export function markPassed(progress: Progress, key: string): Progress {
  return progress.passed.includes(key) ? progress : { ...progress, passed: [...progress.passed, key] };
}

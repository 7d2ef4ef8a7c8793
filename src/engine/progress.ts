import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import lockfile from 'proper-lockfile';
import { LabError } from '../util/errors.ts';
import { stateDir } from '../util/paths.ts';
import { progressSchema } from './schema.ts';

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
  /** When each of them first passed (ISO 8601, UTC), by key; a step passed before this was kept has none. */
  passedAt?: Record<string, string>;
  /** How many hints of each step have been shown. */
  hintsShown: Record<string, number>;
  fault?: ActiveFault;
}

export const stepKey = (chapter: number, stepId: string): string => `${chapter}/${stepId}`;

const labStateDir = (lab: string): string => join(stateDir(), 'labs', lab);
const progressFile = (lab: string): string => join(labStateDir(lab), 'progress.json');
const FRESH: Progress = { chapter: 1, passed: [], hintsShown: {} };

const validProgress = new Ajv({ allErrors: true }).compile(progressSchema);

export function readProgress(lab: string): Progress {
  const file = progressFile(lab);
  if (!existsSync(file)) return { ...FRESH, passed: [], hintsShown: {} };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Progress;
    if (!validProgress(parsed)) throw new Error(`not a progress record: ${validProgress.errors?.map((e) => `${e.instancePath || 'the record'} ${e.message}`).join('; ')}`);
    const { chapter, passed, passedAt, hintsShown, fault } = parsed;
    return { chapter, passed, ...(passedAt ? { passedAt } : {}), hintsShown: hintsShown ?? {}, ...(fault ? { fault: { id: fault.id, hidden: fault.hidden, hintsShown: fault.hintsShown } } : {}) };
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

/** Records a step as passed, and when; a step that had passed already keeps its first time. */
export function markPassed(progress: Progress, key: string, at: Date = new Date()): Progress {
  if (progress.passed.includes(key)) return progress;
  return { ...progress, passed: [...progress.passed, key], passedAt: { ...progress.passedAt, [key]: at.toISOString() } };
}

/** When a step first passed, if it has and the time is known. */
export const passedAt = (progress: Progress, key: string): string | null => (progress.passed.includes(key) ? (progress.passedAt?.[key] ?? null) : null);

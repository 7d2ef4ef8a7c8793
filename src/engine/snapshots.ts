import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SnapshotRecord, SnapshotShape } from '../../vm/provider.ts';
import { MACHINE_NAMES } from '../lab/topology.ts';
import type { Chapter } from './course.ts';

/** Raised when what a snapshot holds, or how it is restored, changes in a way no input below shows. */
const FORMAT = 'hardway-snapshot-1';

/** What a lab's state is made from, besides the chapters: each a short text or hash. */
export type StateInputs = Record<string, string>;

/** A snapshot as the engine reads it back. */
export interface Snapshot {
  id: string;
  key: string;
  /** The lab was at the end of this chapter. */
  chapter: number;
  /** The steps that had passed, "chapter/step". */
  passed: string[];
  /** The lab it was taken from and its subnet, for the listing. */
  lab: string;
  subnet: string;
  sizeBytes: number;
  createdMs: number;
}

/**
 * The key of a snapshot at the end of `chapter`: what decides the state of such a lab. That is the
 * commands of every step up to it (checks and solutions, not the prose or hints), the course files,
 * the artifact versions, the pod images and the machine image. A snapshot is used only when its key
 * is the one the course has now.
 */
export function snapshotKey(chapters: Chapter[], chapter: number, inputs: StateInputs, machineImage: string): string {
  const steps = chapters
    .filter((c) => c.number <= chapter)
    .sort((a, b) => a.number - b.number)
    .map((c) => ({ chapter: c.number, steps: c.steps.map((s) => ({ id: s.id, machine: s.machine, solve: s.solve, checks: s.checks.map((k) => ({ run: k.run, machine: k.machine ?? null })) })) }));
  const sortedInputs = Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify({ format: FORMAT, chapter, steps, inputs: sortedInputs, machineImage })).digest('hex');
}

/** A hash of a folder tree: every file's path, mode and content. */
export function hashTree(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) hash.update(relative(root, path)).update(String(statSync(path).mode & 0o777)).update(readFileSync(path));
    }
  };
  walk(root);
  return hash.digest('hex').slice(0, 16);
}

/** Snapshot ids name images and volumes: the chapter, a short key, a time and a few random characters, as Docker tags allow. */
export function snapshotId(chapter: number, key: string, now = Date.now()): string {
  return `ch${String(chapter).padStart(2, '0')}-${key.slice(0, 12)}-${now.toString(36)}${randomBytes(2).toString('hex')}`;
}

/** Every id snapshotId makes, and nothing else: chapter, 12 hex of the key, the time in base 36 and 4 random hex. */
export const SNAPSHOT_ID = /^ch\d{2,4}-[0-9a-f]{12}-[0-9a-z]{1,11}[0-9a-f]{4}$/;

/** What a snapshot imported from a bundle may name: this course's machines, and an id this engine could have made. */
export const IMPORTABLE_SNAPSHOT: SnapshotShape = { machines: MACHINE_NAMES, id: SNAPSHOT_ID };

export function snapshotMeta(snapshot: Omit<Snapshot, 'id' | 'sizeBytes' | 'createdMs'>): Record<string, string> {
  return { key: snapshot.key, chapter: String(snapshot.chapter), passed: JSON.stringify(snapshot.passed), lab: snapshot.lab, subnet: snapshot.subnet };
}

/** A provider's record read as a snapshot; null when it is not one this engine made. */
export function readSnapshot(record: SnapshotRecord): Snapshot | null {
  const { key, chapter, passed, lab, subnet } = record.meta;
  if (!key || !chapter || !passed) return null;
  try {
    const steps = JSON.parse(passed) as unknown;
    if (!Array.isArray(steps) || !steps.every((s) => typeof s === 'string')) return null;
    return { id: record.id, key, chapter: Number(chapter), passed: steps, lab: lab ?? '', subnet: subnet ?? '', sizeBytes: record.sizeBytes, createdMs: record.createdMs };
  } catch {
    return null;
  }
}

/**
 * The snapshot to start a lab at `target` from: of those whose key matches the course now, the one
 * that got furthest before `target`, the newest of those. `keyOf` gives the current key of a chapter.
 */
export function pickSnapshot(snapshots: Snapshot[], target: number, keyOf: (chapter: number) => string, complete: (snapshot: Snapshot) => boolean): Snapshot | null {
  const usable = snapshots.filter((s) => s.chapter < target && s.key === keyOf(s.chapter) && complete(s));
  usable.sort((a, b) => b.chapter - a.chapter || b.createdMs - a.createdMs);
  return usable[0] ?? null;
}

/** The last chapter such that it and every chapter before it are passed entirely; 0 if none. */
export function completedChapter(chapters: Chapter[], passed: readonly string[]): number {
  let done = 0;
  for (const chapter of [...chapters].sort((a, b) => a.number - b.number)) {
    if (!chapter.steps.every((s) => passed.includes(`${chapter.number}/${s.id}`))) break;
    done = chapter.number;
  }
  return done;
}

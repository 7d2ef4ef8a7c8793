import { ARTIFACT_SETS, type ArtifactSet } from '../artifacts/manifest.ts';
import type { Chapter } from './course.ts';

/**
 * What a chapter can declare it needs from the host (its `needs:` in chapter.yaml):
 * `binaries`, the course's pinned binaries (~/downloads on the jumpbox); `upgrade-binaries`, the
 * upgrade's Kubernetes; `registry`, the lab's image registry stocked with the pod images.
 */
export const NEEDS = ['binaries', 'upgrade-binaries', 'registry'] as const;
export type Need = (typeof NEEDS)[number];

/** The manifest's sets each need waits for; the registry's CoreDNS image carries the course's built CoreDNS. */
const SETS: Record<Need, ArtifactSet[]> = { binaries: ['course'], 'upgrade-binaries': ['upgrade'], registry: ['course'] };

/** What the registry's images are made from. */
export const REGISTRY_SETS = SETS.registry;

export interface Needs {
  sets: ArtifactSet[];
  registry: boolean;
}

/**
 * What a lab at `chapter` needs: what that chapter declares and every chapter before it (its start
 * is their end, and replaying it runs them). So chapter 2 declaring `binaries` is enough for every
 * later chapter to wait for them.
 */
export function needsUpTo(chapters: Chapter[], chapter: number): Needs {
  const declared = new Set(chapters.filter((c) => c.number <= chapter).flatMap((c) => c.needs ?? []));
  const sets = new Set([...declared].flatMap((need) => SETS[need]));
  return { sets: ARTIFACT_SETS.filter((set) => sets.has(set)), registry: declared.has('registry') };
}

/**
 * What a lab at `chapter` builds in the background, without waiting: what the chapters up to it
 * need, and the course's binaries from the very first `lab up` (chapter 2, soon, needs them). The
 * upgrade's only once a chapter up to `chapter` needs them.
 */
export function setsToPrepare(chapters: Chapter[], chapter: number): ArtifactSet[] {
  const sets = new Set([...SETS.binaries, ...needsUpTo(chapters, chapter).sets]);
  return ARTIFACT_SETS.filter((set) => sets.has(set));
}

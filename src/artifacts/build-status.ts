/**
 * The host's build of the pinned binaries, as its status file holds it: the one shape the building
 * process writes and `lab status`, the browser page and a lab waiting for binaries read. Pure (no
 * Node modules), so the browser UI imports it too.
 */

import { LabError } from '../util/errors.ts';
import type { ArtifactSet } from './manifest.ts';
import type { SourceName } from './sources/names.ts';

export interface BuildStatus {
  /**
   * building: a process holds the build's lock and works on it; done / failed: how the last build
   * ended; interrupted: its process went away (killed, a reboot) without saying how it ended.
   */
  state: 'building' | 'done' | 'failed' | 'interrupted';
  /** What it obtains, in order, as "kubernetes v1.34.4". */
  components: string[];
  /** How many binaries it obtains in all, and the position (1-based) of the one it is on: 0 before the first. */
  total: number;
  position: number;
  /** The binary it is on, and its latest progress line (seconds of a go build, percent of a download). */
  current?: { component: string; binary: string; source: SourceName; detail?: string };
  /** The components it has put into the cache so far. */
  ready: string[];
  startedAt: number;
  updatedAt: number;
  finishedAt?: number;
  error?: { message: string; next?: string };
  /** The file holding the build's whole output. */
  log: string;
  pid: number;
}

/** The binaries some chapters need, as a lab sees them: those not in the cache yet, and the host's build. */
export interface BinariesState {
  /** Components not in the cache yet, as "kubernetes v1.35.8". */
  missing: string[];
  /** The host's build: running, or how the last one ended (null: none was ever run here). */
  build: BuildStatus | null;
}

/** The host's binaries as a lab uses them: what is missing, and a build of it in the background. */
export interface HostBinaries {
  state(sets: ArtifactSet[]): Promise<BinariesState>;
  /** Starts a build of what `sets` lack in a process of its own, unless one is running; resolves once it runs, not when it ends. */
  build(sets: ArtifactSet[]): Promise<void>;
}

const VERBS: Record<SourceName, string> = { official: 'downloading', mirror: 'downloading', local: 'copying', source: 'building' };

/** One line on a build: "building kube-apiserver (3 of 18)", what it made, or why it failed. */
export function describeBuild(status: BuildStatus, now = Date.now()): string {
  const took = minutes((status.finishedAt ?? now) - status.startedAt);
  switch (status.state) {
    case 'building':
      return status.current
        ? `${VERBS[status.current.source]} ${status.current.binary} (${status.position} of ${status.total}), ${took} so far`
        : `starting a build of ${status.components.join(', ')}`;
    case 'done':
      return `${status.components.join(', ')} ready (${status.total} binaries in ${took})`;
    case 'failed':
      return `the build of ${status.components.join(', ')} failed: ${status.error?.message ?? 'no reason given'}`;
    case 'interrupted':
      return `the build of ${status.components.join(', ')} stopped at ${status.current?.binary ?? 'its start'} (${status.position} of ${status.total}) without finishing`;
  }
}

/** What `lab status` says of the binaries: the build's line, its log when it failed, and what is still missing. */
export function describeBinaries(state: BinariesState, now = Date.now()): string[] {
  const { build, missing } = state;
  const lines = build ? [describeBuild(build, now)] : [];
  if (build && build.state !== 'done') lines.push(`its log: ${build.log}`);
  if (build?.state === 'failed' || build?.state === 'interrupted') lines.push(`next: ${build.error?.next ?? RETRY}`);
  if (build?.state !== 'building' && missing.length > 0) lines.push(`not in the cache yet: ${missing.join(', ')} (a lab builds them in the background when it first needs them; lab artifacts fetch builds them now)`);
  if (lines.length === 0) lines.push('every binary the labs need is in the cache');
  return lines;
}

/** What to try after a build failed or was interrupted. */
export const RETRY = 'read its log, then build them in the foreground, where every step shows: lab artifacts fetch (lab up also starts the build again)';

/** Whether a failed build was the one to make any of these components (a failure of something else does not stop a wait). */
export const failedFor = (build: BuildStatus | null, missing: string[]): boolean =>
  build?.state === 'failed' && build.components.some((component) => missing.includes(component));

const minutes = (ms: number): string => (ms < 60_000 ? `${Math.max(0, Math.round(ms / 1000))} s` : `${Math.round(ms / 60_000)} min`);

/** A lab waited for binaries whose build failed: says why, where its log is, and what to try. */
export class BuildFailedError extends LabError {
  constructor(readonly build: BuildStatus) {
    super(`the binaries are not there: ${describeBuild(build)}\nits log: ${build.log}`, build.error?.next ?? RETRY);
  }
}

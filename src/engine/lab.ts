import { hostBinaries } from '../artifacts/background.ts';
import { BuildFailedError, describeBuild, failedFor, type BinariesState, type HostBinaries } from '../artifacts/build-status.ts';
import { loadManifest, type ArtifactSet } from '../artifacts/manifest.ts';
import { bringUpMachines, type MachineHealth } from '../lab/machines.ts';
import { podImages, stockRegistry } from '../lab/registry.ts';
import { fromPackage } from '../util/package-root.ts';
import { MACHINES, type MachineRole } from '../lab/topology.ts';
import { LabError } from '../util/errors.ts';
import { Progress } from '../util/output.ts';
import { inBatchesOf, Turns } from '../util/concurrency.ts';
import { sleep, timeScale } from '../util/time.ts';
import type { MachineProvider } from '../../vm/provider.ts';
import type { Chapter, Step } from './course.ts';
import { actionFailureMessage, actionFailureNext, checkHealth, gradeFix, injectFault, runActions, waitForFix, type ActionsOutcome, type Fault, type HealthChecks } from './faults.ts';
import { needsUpTo, REGISTRY_SETS, setsToPrepare } from './needs.ts';
import { clearProgress, markPassed, markRegistry, readProgress, registryStocked, stepKey, updateProgress, type ActiveFault, type Progress as LabProgress } from './progress.ts';
import { checkStep, fastForward, runScript, SolveError, solveStep, type CheckOutcome } from './runner.ts';
import { chapterByNumber, currentPosition, resolveStep, type Position } from './session.ts';
import { completedChapter, hashTree, pickSnapshot, readSnapshot, snapshotId, snapshotKey, snapshotMeta, type Snapshot, type StateInputs } from './snapshots.ts';
import { collectTrace, listTraceable, type Traceable } from '../trace/collect.ts';
import { parseTarget, targetName, type Trace } from '../trace/model.ts';
import { loadMapLayout, type MapLayout } from '../map/layout.ts';
import { readClusterMap, type ClusterMap } from '../map/status.ts';

/** The course as data: chapters, faults and what a healthy cluster is. */
export interface Course {
  chapters: Chapter[];
  faults: Fault[];
  health: HealthChecks;
}

export interface HintShown {
  text: string;
  index: number;
  total: number;
}

export type CheckResult =
  | { kind: 'fault'; fault: Fault; active: ActiveFault; outcome: CheckOutcome }
  | { kind: 'step'; chapter: Chapter; step: Step; outcome: CheckOutcome; next: Position };

export type HintResult = ({ kind: 'fault'; fault: Fault } | { kind: 'step'; chapter: Chapter; step: Step }) & { hint: HintShown };

export interface BreakRequest {
  /** A fault by id; without it, one at random from those matching the filters. */
  id?: string;
  component?: string;
  difficulty?: number;
  /** Keep even a fault chosen by id unnamed to the learner (a random one always is), from the first write of it on. */
  hidden?: boolean;
}

export interface MachineState {
  name: string;
  description: string;
  state: 'running' | 'stopped' | 'missing';
  ip: string | null;
}

/** What a lab needs from outside its machines; the defaults are the real binaries and the jumpbox's registry. */
export interface LabSetup {
  /** The host's pinned binaries: which are missing, and one build of them at a time in the background. */
  binaries: HostBinaries;
  /** Starts the lab's image registry and stocks it with the pod images. */
  registry(lab: string, provider: MachineProvider): Promise<void>;
  /** How long a restarted lab may take to pass again the steps it had passed (etcd, API server, kubelets, pods). */
  recoveryMs: number;
  /** How often a waiting lab is graded again. */
  pollMs: number;
  /** What a lab's state is made from besides the chapters and the machine image: part of every snapshot's key. */
  stateInputs(): StateInputs;
}

export interface UpOptions {
  /** Restore the newest matching snapshot into a new lab (the default), or replay every chapter. */
  snapshots?: boolean;
  /** After replaying, keep a snapshot of the lab at the end of the chapter before `chapter` unless one matches already. */
  keepSnapshot?: boolean;
}

/** A snapshot, and whether the course as it is now may use it. */
export interface SnapshotListing {
  snapshot: Snapshot;
  usable: boolean;
}

/** How many steps are graded at once while a lab's components come back. */
const RECOVERY_CONCURRENCY = 8;

/** How far back a trace looks unless told otherwise. */
export const TRACE_WINDOW_MS = 30 * 60_000;

export const REAL_SETUP: LabSetup = {
  // Its build process takes the sources from HARDWAY_SOURCES, HARDWAY_MIRROR and HARDWAY_BIN_DIR, as lab artifacts fetch does.
  binaries: hostBinaries,
  registry: stockRegistry,
  // A slow host (HARDWAY_TIME_SCALE) gets longer to bring its components back after a restart.
  get recoveryMs() {
    return 240_000 * timeScale();
  },
  pollMs: 3000,
  stateInputs: () => ({
    courseFiles: hashTree(fromPackage('labs', 'files')),
    artifacts: loadManifest().map((c) => `${c.name}@${c.version}`).join(','),
    podImages: podImages().map((i) => `${i.reference}=${i.registryPath}${i.revision ? `@${i.revision}` : ''}`).join(','),
  }),
};

/** One line of turns per lab of each engine: what changes or grades a lab runs in its turn (LabEngine.exclusive). */
const turns = new WeakMap<MachineProvider, Map<string, Turns>>();

function turnsOf(provider: MachineProvider, lab: string): Turns {
  const labs = turns.get(provider) ?? new Map<string, Turns>();
  turns.set(provider, labs);
  const mine = labs.get(lab) ?? new Turns();
  labs.set(lab, mine);
  return mine;
}

/** The next rung of a hint ladder: the last one again once all are shown. */
export function climbLadder(hints: string[], shown: number): HintShown {
  const index = Math.min(shown, hints.length - 1);
  return { text: hints[index]!, index: index + 1, total: hints.length };
}

/**
 * One lab, as both front ends drive it: the CLI's commands and the browser lab's API are thin calls
 * into here. Everything it knows about machines goes through the MachineProvider.
 */
export class LabEngine {
  constructor(
    readonly provider: MachineProvider,
    readonly lab: string,
    readonly course: Course,
    private readonly setup: LabSetup = REAL_SETUP,
  ) {}

  get lastChapter(): number {
    return Math.max(...this.course.chapters.map((c) => c.number));
  }

  /** The chapter that starts on a built, proven cluster (after the `cluster-built` milestone): where breaking and healing aim. */
  get clusterChapter(): number {
    const built = this.builtChapter;
    return built !== undefined ? built + 1 : this.lastChapter;
  }

  /** The chapter at whose end the cluster is built and proven (its `cluster-built` milestone), if the course has one. */
  private get builtChapter(): number | undefined {
    return this.course.chapters.find((c) => c.milestone === 'cluster-built')?.number;
  }

  progress(): LabProgress {
    return readProgress(this.lab);
  }

  /** Whether a step has passed, in the given progress (read afresh when not given). */
  passed(chapter: Chapter, step: Step, progress: LabProgress = this.progress()): boolean {
    return progress.passed.includes(stepKey(chapter.number, step.id));
  }

  position(): Position {
    return currentPosition(this.lab, this.course.chapters);
  }

  /** Each machine of the lab, including those not (yet) created. */
  async machines(): Promise<MachineState[]> {
    const existing = await this.provider.list(this.lab);
    return MACHINES.map((role: MachineRole) => {
      const machine = existing.find((m) => m.name === role.name);
      return { name: role.name, description: role.description, state: machine?.state ?? 'missing', ip: machine?.ip ?? null };
    });
  }

  /**
   * Machines, then what `chapter` needs from the host, then the solutions of every chapter before
   * it, so the learner lands at its start. Binaries the cache lacks are built in the background
   * (setsToPrepare): it waits only for those the chapters up to `chapter` need, so chapter 1 is
   * ready once its machines are. Safe to re-run: steps whose checks already pass are not solved again.
   * Machines that come back from a reboot are given time to recover before anything is graded.
   * A new lab starts from the newest snapshot whose key matches the course (see restore), and
   * replays only the chapters after it.
   */
  async up(chapter?: number, options: UpOptions = {}): Promise<MachineHealth[]> {
    return this.exclusive(chapter === undefined ? 'starting the machines' : `bringing the lab up at chapter ${chapter}`, () => this.bringUp(chapter, options));
  }

  private async bringUp(chapter?: number, options: UpOptions = {}): Promise<MachineHealth[]> {
    if (chapter !== undefined) chapterByNumber(this.course.chapters, chapter);
    const reach = Math.max(chapter ?? 0, this.progress().chapter);
    await this.buildInBackground(setsToPrepare(this.course.chapters, reach));
    const fresh = (await this.provider.list(this.lab)).length === 0;
    const snapshot = fresh && chapter !== undefined && options.snapshots !== false ? await this.matchingSnapshot(chapter) : null;
    const { health, restarted } = await bringUpMachines(this.lab, this.provider, snapshot?.id);
    await this.ready(reach, true);
    let proven = 0;
    if (snapshot) {
      await this.restore(snapshot);
      proven = snapshot.chapter;
    } else if (restarted.length > 0) proven = await this.recoverFromRestart();
    if (chapter === undefined) return health;
    if (this.progress().fault) {
      throw new LabError('this lab has a fault to fix, so its chapters are not replayed', 'fix it (lab check grades the fix), or give up on it: lab giveup');
    }
    await this.fastForwardTo(chapter, Math.min(proven, chapter - 1));
    if (options.keepSnapshot && (await this.needsSnapshotBefore(chapter))) await this.keepSnapshot();
    return health;
  }

  /** The binaries this lab builds in the background that the cache lacks, and the host's build of them. */
  binaries(): Promise<BinariesState> {
    return this.setup.binaries.state(setsToPrepare(this.course.chapters, this.progress().chapter));
  }

  /** Starts building what the cache lacks of `sets` in the background (one build per host); never waits for it. */
  private async buildInBackground(sets: ArtifactSet[]): Promise<void> {
    if ((await this.setup.binaries.state(sets)).missing.length > 0) await this.setup.binaries.build(sets);
  }

  /**
   * Makes sure what a lab at `chapter` needs from the host is there (needs.ts): waits for binaries
   * still being built, and stocks the registry once. With `restock` (lab up, whose machines may be
   * new or restarted) the registry is stocked again whenever its images can be made.
   */
  private async ready(chapter: number, restock = false): Promise<void> {
    const needs = needsUpTo(this.course.chapters, chapter);
    await this.waitForBinaries(needs.sets);
    if (needs.registry || restock) await this.stockRegistry(needs.registry, restock);
  }

  /**
   * Waits, with a progress line, until the cache holds every binary of `sets`. While nobody builds
   * them (none started yet, or the last build was interrupted or made something else) it starts a
   * build; a failed build of them is a clear error instead, since trying the same again rarely helps.
   */
  private async waitForBinaries(sets: ArtifactSet[]): Promise<void> {
    if (sets.length === 0) return;
    let state = await this.setup.binaries.state(sets);
    if (state.missing.length === 0) return;
    const progress = new Progress('waiting for the binaries');
    const waited = state.missing;
    while (state.missing.length > 0) {
      if (failedFor(state.build, state.missing)) throw new BuildFailedError(state.build!);
      if (state.build?.state === 'building') progress.update(describeBuild(state.build));
      else {
        progress.update(`starting a build of ${state.missing.join(', ')}`);
        await this.setup.binaries.build(sets);
      }
      await sleep(this.setup.pollMs);
      state = await this.setup.binaries.state(sets);
    }
    progress.done(`${waited.join(', ')} ready`);
  }

  /** Starts and stocks the registry: when `needed`, after its binaries; otherwise only if they are there already. */
  private async stockRegistry(needed: boolean, again: boolean): Promise<void> {
    if (!again && registryStocked(this.lab)) return;
    if (needed) await this.waitForBinaries(REGISTRY_SETS);
    else if ((await this.setup.binaries.state(REGISTRY_SETS)).missing.length > 0) {
      // Its CoreDNS image needs the built CoreDNS: stocked once a chapter needs the registry.
      markRegistry(this.lab, false);
      return;
    }
    await this.setup.registry(this.lab, this.provider);
    markRegistry(this.lab, true);
  }

  /**
   * A lab made from a snapshot is a new lab on its own network: its progress is the snapshot's, and
   * what names the old addresses (machines.txt, hosts files, routes) is made right by the course's
   * own steps (see settle). A snapshot of a built cluster is then trusted once the cluster's health
   * checks pass: it was kept only with every step passing, and its own lab proved them all again
   * after the same stop and start; the move changes only the addresses. The integration test
   * proves that every step of a restored lab passes again by itself. Earlier snapshots (no cluster
   * to be healthy yet) have every passed step graded until it passes again.
   */
  private async restore(snapshot: Snapshot): Promise<void> {
    // Its steps pass as of now, in this lab: the snapshot's lab passed them at other times.
    const now = new Date().toISOString();
    const passedAt = Object.fromEntries(snapshot.passed.map((key) => [key, now]));
    await updateProgress(this.lab, () => ({ chapter: Math.min(snapshot.chapter + 1, this.lastChapter), passed: [...snapshot.passed], passedAt, hintsShown: {} }));
    const built = this.builtChapter;
    await this.settle(snapshot.chapter, `restoring snapshot ${snapshot.id}`, built !== undefined && snapshot.chapter >= built);
  }

  /**
   * Brings every passed step up to `chapter` back to passing after its machines were made again or
   * restarted. First the steps whose result names the machines' addresses or is lost with a stop
   * (machines.txt, hosts files, pod routes) are graded and, where they fail, solved again with the
   * course's own solutions, in order: they need no component running. Then the components start in
   * their own time, so every step is graded until it passes again (for a restored built cluster,
   * `healthOnly`: until the cluster's health checks pass). If that stops improving, every step is
   * graded and solved once more, strictly in order, as lab up does.
   */
  private async settle(chapter: number, what: string, healthOnly = false): Promise<void> {
    const steps = this.passedSteps(chapter);
    const addressed = steps.filter((s) => s.addresses);
    const progress = new Progress(what);
    for (const step of addressed) {
      progress.update(`grading ${step.title.toLowerCase()}`);
      if ((await checkStep(this.provider, this.lab, step)).passed) continue;
      progress.update(`${step.title.toLowerCase()}: solved again`);
      // A solution that fails here is solved again below, in order, with its error shown if it fails again.
      await solveStep(this.provider, this.lab, step).catch((error: unknown) => {
        if (!(error instanceof SolveError)) throw error;
      });
    }
    progress.done(`${addressed.length} steps that name the machines' addresses are right`);
    if (healthOnly && (await this.waitForHealth(`${what}: the cluster comes up`, this.setup.recoveryMs / 8))) return;
    if (await this.waitForRecovery(`${what}: the components start again`, steps, this.setup.recoveryMs / 8)) return;
    try {
      await fastForward(this.provider, this.lab, this.course.chapters, chapter + 1, async ({ chapter: c, step }) => {
        await updateProgress(this.lab, (state) => markPassed(state, stepKey(c.number, step.id)));
      });
    } catch (error) {
      if (error instanceof SolveError) {
        throw new LabError(`"${error.step.title}" does not pass again:\n${error.output}`, 'lab heal tries again; if it fails the same way, lab down, then lab up --no-snapshot');
      }
      throw error;
    }
  }

  /**
   * After a reboot or a dockerd restart, the machines come back without what does not survive one
   * (Docker rewrites /etc/hosts, pod routes are gone) and with components still restarting: first
   * give them time, then settle the chapters the lab had finished with the course's own steps.
   */
  /** Returns the last chapter it proved passing again (0: none), which lab up need not grade again. */
  private async recoverFromRestart(): Promise<number> {
    const finished = completedChapter(this.course.chapters, this.progress().passed);
    if (finished > 0) {
      await this.settle(finished, 'recovering after a restart');
      return finished;
    }
    // Steps passed in a chapter not yet finished are the learner's own work: waited for, never solved.
    await this.waitForRecovery();
    return 0;
  }

  /** Snapshots this engine made, newest first, each with whether the course as it is now may use it. */
  async snapshots(): Promise<SnapshotListing[]> {
    const image = this.provider.machineImageTag();
    const inputs = this.setup.stateInputs();
    const keys = new Map<number, string>();
    const keyOf = (chapter: number): string => keys.get(chapter) ?? keys.set(chapter, snapshotKey(this.course.chapters, chapter, inputs, image)).get(chapter)!;
    const records = await this.provider.listSnapshots();
    return records.flatMap((record) => {
      const snapshot = readSnapshot(record);
      if (!snapshot) return [];
      const complete = MACHINES.every((m) => record.machines.includes(m.name));
      return [{ snapshot, usable: complete && snapshot.key === keyOf(snapshot.chapter) }];
    });
  }

  /** The steps the lab has passed, in the course's order (up to `chapter` when given). */
  private passedSteps(chapter = Infinity): Step[] {
    const passed = new Set(this.progress().passed);
    return this.course.chapters.filter((c) => c.number <= chapter).flatMap((c) => c.steps.filter((s) => passed.has(stepKey(c.number, s.id))));
  }

  /** Whether no usable snapshot ends exactly where `chapter` starts (an older one may, and is then not enough). */
  private async needsSnapshotBefore(chapter: number): Promise<boolean> {
    const before = Math.max(0, ...this.course.chapters.filter((c) => c.number < chapter).map((c) => c.number));
    return before > 0 && (await this.matchingSnapshot(chapter))?.chapter !== before;
  }

  /** The snapshot a new lab at `chapter` starts from, if any. */
  async matchingSnapshot(chapter: number): Promise<Snapshot | null> {
    const usable = (await this.snapshots()).filter((s) => s.usable).map((s) => s.snapshot);
    return pickSnapshot(usable, chapter, (c) => usable.find((s) => s.chapter === c)?.key ?? '', () => true);
  }

  /**
   * Keeps this lab as a snapshot at the end of its last complete chapter: every step up to it must
   * pass now. The machines are stopped for it (etcd and containerd are consistent on disk), then
   * started again, and what a stop loses (routes) is solved again.
   */
  async snapshot(): Promise<Snapshot> {
    return this.exclusive('keeping a snapshot', () => this.keepSnapshot());
  }

  private async keepSnapshot(): Promise<Snapshot> {
    if (this.activeFault()) throw new LabError('this lab has a fault to fix, so it is not kept as a snapshot', 'fix it (lab check grades the fix), or give up on it: lab giveup');
    const machines = await this.provider.list(this.lab);
    if (machines.length === 0) throw new LabError(`lab "${this.lab}" has no machines`, `start it with: lab up --lab ${this.lab}`);
    if (machines.some((m) => m.state !== 'running')) throw new LabError(`lab "${this.lab}" has stopped machines`, `start them with: lab up --lab ${this.lab}`);
    const chapter = completedChapter(this.course.chapters, this.progress().passed);
    if (chapter === 0) throw new LabError('no chapter of this lab is complete yet, so there is nothing to keep', 'finish chapter 1 first (lab check grades it)');
    const steps = this.course.chapters.filter((c) => c.number <= chapter).flatMap((c) => c.steps.map((step) => ({ chapter: c, step })));
    const progress = new Progress(`snapshot of chapters 1-${chapter}`);
    progress.update(`grading ${steps.length} steps`);
    const outcomes = await Promise.all(steps.map(({ step }) => checkStep(this.provider, this.lab, step)));
    const failing = steps.filter((_s, i) => !outcomes[i]!.passed);
    if (failing.length > 0) {
      throw new LabError(`only what passes is kept, and ${failing.map((f) => `${f.chapter.number}/${f.step.id}`).join(', ')} fail now`, 'lab heal restores them; then take the snapshot again');
    }
    const key = snapshotKey(this.course.chapters, chapter, this.setup.stateInputs(), await this.provider.ensureMachineImage());
    const { subnet } = await this.provider.createNetwork(this.lab);
    const id = snapshotId(chapter, key);
    const passed = steps.map(({ chapter: c, step }) => stepKey(c.number, step.id));
    progress.update('shutting the cluster down');
    for (const action of this.course.health.shutdown ?? []) await runScript(this.provider, this.lab, action.machine, action.run).catch(() => null);
    progress.update('stopping the machines');
    await Promise.all(machines.map((m) => this.provider.stop(this.lab, m.name)));
    let record;
    try {
      progress.update('saving each machine');
      record = await this.provider.saveSnapshot(this.lab, id, snapshotMeta({ key, chapter, passed, lab: this.lab, subnet }));
    } finally {
      progress.update('starting the machines again');
      await bringUpMachines(this.lab, this.provider);
      await this.ready(chapter, true);
      await this.settle(chapter, 'after the snapshot');
    }
    progress.done(`kept as ${id}`);
    return readSnapshot(record)!;
  }

  /** Removes snapshots: those the course can no longer use (and older copies of one that it can), or with `all` every one. */
  async pruneSnapshots(all = false): Promise<Snapshot[]> {
    const listing = await this.snapshots();
    const kept = new Set<string>();
    const removed: Snapshot[] = [];
    for (const { snapshot, usable } of listing) {
      if (!all && usable && !kept.has(snapshot.key)) {
        kept.add(snapshot.key);
        continue;
      }
      await this.provider.removeSnapshot(snapshot.id);
      removed.push(snapshot);
    }
    return removed;
  }

  /**
   * Waits until every step the lab had passed (or those given) passes again: components restart in
   * their own time after a reboot. Each step is graded on its own until it passes, so one slow check
   * holds up no other. It gives up when no step has come back for `patienceMs` (some state, such as
   * routes, does not survive a reboot and is solved again), and at the latest after the recovery time.
   */
  private async waitForRecovery(what = 'recovering after a restart', only?: Step[], patienceMs = this.setup.recoveryMs / 4): Promise<boolean> {
    const steps = only ?? this.passedSteps();
    if (steps.length === 0) return true;
    const progress = new Progress(what);
    const deadline = Date.now() + this.setup.recoveryMs;
    let back = 0;
    let improvedAt = Date.now();
    const givenUp = () => Date.now() - improvedAt > patienceMs || Date.now() > deadline;
    const waitFor = async (step: Step): Promise<boolean> => {
      for (;;) {
        if ((await checkStep(this.provider, this.lab, step)).passed) {
          back += 1;
          improvedAt = Date.now();
          progress.update(`${back}/${steps.length} passed steps pass again`);
          return true;
        }
        if (givenUp()) return false;
        await sleep(this.setup.pollMs);
      }
    };
    // A few at a time, in the course's order: dozens of checks at once would fight the booting components for CPU.
    const outcomes = await inBatchesOf(RECOVERY_CONCURRENCY, steps, waitFor);
    const failing = outcomes.filter((ok) => !ok).length;
    progress.done(failing === 0 ? `all ${steps.length} passed steps pass again` : `${failing} steps still fail; they are solved again`);
    return failing === 0;
  }

  /** Polls the cluster's health checks and guards until they pass; false once they stop improving for `patienceMs`. */
  private async waitForHealth(what: string, patienceMs: number): Promise<boolean> {
    const progress = new Progress(what);
    const deadline = Date.now() + this.setup.recoveryMs;
    let fewest = Number.POSITIVE_INFINITY;
    let improvedAt = Date.now();
    for (;;) {
      const outcome = await checkHealth(this.provider, this.lab, this.course.health);
      if (outcome.passed) {
        progress.done('the cluster is healthy');
        return true;
      }
      if (outcome.failures.length < fewest) [fewest, improvedAt] = [outcome.failures.length, Date.now()];
      progress.update(`${outcome.failures.length} health checks still fail`);
      if (Date.now() - improvedAt > patienceMs || Date.now() > deadline) {
        progress.done(`${outcome.failures.length} health checks still fail; every passed step is graded instead`);
        return false;
      }
      // Health is a handful of checks in one exec per machine: cheap enough to ask every second.
      await sleep(Math.min(this.setup.pollMs, 1000));
    }
  }

  /** Replays the chapters after `after` and before `chapter`. */
  private async fastForwardTo(chapter: number, after = 0): Promise<void> {
    const chapters = this.course.chapters.filter((c) => c.number > after);
    const total = chapters.filter((c) => c.number < chapter).reduce((sum, c) => sum + c.steps.length, 0);
    const progress = new Progress(after ? `chapters after ${after}, before ${chapter}` : `chapters before ${chapter}`);
    let done = 0;
    try {
      await fastForward(this.provider, this.lab, chapters, chapter, async ({ chapter: c, step, action }) => {
        done += 1;
        progress.update(`${done}/${total} ${c.number}/${step.id} ${action === 'solved' ? 'solved' : 'already done'}`);
        await updateProgress(this.lab, (state) => markPassed(state, stepKey(c.number, step.id)));
      });
    } catch (error) {
      if (error instanceof SolveError) {
        throw new LabError(`replaying "${error.step.title}" failed:\n${error.output}`, `run lab up ${chapter} again (it continues where it stopped); if it fails the same way, lab down and start over`);
      }
      throw error;
    }
    await updateProgress(this.lab, (state) => ({ ...state, chapter }));
    progress.done(total === 0 ? 'nothing to replay' : `${total} steps replayed or already done`);
  }

  /** Removes every machine, network and volume of the lab, and forgets its progress and fault. */
  async down(): Promise<void> {
    return this.exclusive('removing the lab', () => this.removeLab());
  }

  private async removeLab(): Promise<void> {
    await this.provider.deleteLab(this.lab);
    clearProgress(this.lab);
  }

  /** A new lab of the same name at the start of `chapter`. */
  async reset(chapter: number, options: UpOptions = {}): Promise<MachineHealth[]> {
    chapterByNumber(this.course.chapters, chapter);
    return this.exclusive(`resetting the lab to chapter ${chapter}`, async () => {
      await this.removeLab();
      return this.bringUp(chapter, options);
    });
  }

  step(name?: string): { chapter: Chapter; step: Step } {
    return resolveStep(this.lab, this.course.chapters, name);
  }

  /** With a fault active (and no step named), grades its fix; else grades a step and records a pass. */
  async check(name?: string): Promise<CheckResult> {
    return this.exclusive(name ? `checking ${name}` : 'a check', () => this.grade(name));
  }

  private async grade(name?: string): Promise<CheckResult> {
    const active = name ? null : this.activeFault();
    if (active) {
      const outcome = await gradeFix(this.provider, this.lab, active.fault, this.course.health);
      if (outcome.passed) await this.clearFault();
      return { kind: 'fault', fault: active.fault, active: active.state, outcome };
    }
    const { chapter, step } = this.step(name);
    await this.ready(chapter.number);
    const outcome = await this.gradeStep(chapter, step);
    return { kind: 'step', chapter, step, outcome, next: this.position() };
  }

  private async gradeStep(chapter: Chapter, step: Step): Promise<CheckOutcome> {
    const outcome = await checkStep(this.provider, this.lab, step);
    if (outcome.passed) await updateProgress(this.lab, (state) => markPassed(state, stepKey(chapter.number, step.id)));
    return outcome;
  }

  /** The next hint of the active fault's ladder, or of a step's. */
  async hint(name?: string): Promise<HintResult> {
    const active = name ? null : this.activeFault();
    if (active) {
      const hint = climbLadder(active.fault.hints, active.state.hintsShown);
      await updateProgress(this.lab, (state) => (state.fault ? { ...state, fault: { ...state.fault, hintsShown: hint.index } } : state));
      return { kind: 'fault', fault: active.fault, hint };
    }
    const { chapter, step } = this.step(name);
    const key = stepKey(chapter.number, step.id);
    let hint: HintShown | null = null;
    await updateProgress(this.lab, (state) => {
      hint = climbLadder(step.hints, state.hintsShown[key] ?? 0);
      return { ...state, hintsShown: { ...state.hintsShown, [key]: hint.index } };
    });
    return { kind: 'step', chapter, step, hint: hint! };
  }

  /** Runs a step's solution and grades it; a solution that fails to run throws SolveError. */
  async solve(name?: string): Promise<{ chapter: Chapter; step: Step; outcome: CheckOutcome }> {
    return this.exclusive(name ? `solving ${name}` : 'a solution', async () => {
      const { chapter, step } = this.step(name);
      await this.ready(chapter.number);
      await solveStep(this.provider, this.lab, step);
      return { chapter, step, outcome: await this.gradeStep(chapter, step) };
    });
  }

  activeFault(): { fault: Fault; state: ActiveFault } | null {
    const state = this.progress().fault;
    const fault = state && this.course.faults.find((f) => f.id === state.id);
    return state && fault ? { fault, state } : null;
  }

  /** The faults a break request may pick from. */
  candidates(request: BreakRequest): Fault[] {
    if (request.id) return this.course.faults.filter((f) => f.id === request.id);
    return this.course.faults.filter((f) => (!request.component || f.component === request.component) && (!request.difficulty || f.difficulty === request.difficulty));
  }

  /** Breaks a healthy cluster with one fault; a random one (or one asked to be hidden) stays hidden until the learner gives up. */
  async breakCluster(request: BreakRequest, random: () => number = Math.random): Promise<Fault> {
    return this.exclusive('breaking the cluster', () => this.inject(request, random));
  }

  private async inject(request: BreakRequest, random: () => number): Promise<Fault> {
    const pool = this.candidates(request);
    if (pool.length === 0) {
      throw new LabError(request.id ? `there is no fault "${request.id}"` : 'no fault matches that component and difficulty', 'see lab faults', 2);
    }
    if (this.activeFault()) throw new LabError('this lab already has a fault to fix', 'fix it (lab check grades the fix), or give up on it: lab giveup');
    const healthy = await checkHealth(this.provider, this.lab, this.course.health);
    if (!healthy.passed) throw new UnhealthyClusterError(healthy, this.lab, this.clusterChapter);
    const fault = pool[Math.floor(random() * pool.length)]!;
    const injected = await injectFault(this.provider, this.lab, fault);
    if (!injected.ok) throw new LabError(actionFailureMessage(fault, 'inject', injected), actionFailureNext(fault, 'inject', injected, this.lab === 'main' ? '' : ` --lab ${this.lab}`));
    await updateProgress(this.lab, (state) => ({ ...state, fault: { id: fault.id, hidden: Boolean(request.hidden) || !request.id, hintsShown: 0 } }));
    return fault;
  }

  /** Applies the active fault's fix and waits for a healthy cluster; the fault is cleared once it is. */
  async giveUp(): Promise<{ fault: Fault; fix: ActionsOutcome; outcome: CheckOutcome }> {
    return this.exclusive("applying the fault's fix", () => this.applyFix());
  }

  private async applyFix(): Promise<{ fault: Fault; fix: ActionsOutcome; outcome: CheckOutcome }> {
    const active = this.activeFault();
    if (!active) throw new LabError('no fault is active in this lab', 'break one first: lab break --random');
    const fix = await runActions(this.provider, this.lab, active.fault.solve);
    const progress = new Progress('waiting for a healthy cluster');
    progress.update('checking');
    const outcome = fix.ok ? await waitForFix(this.provider, this.lab, active.fault, this.course.health, this.setup.recoveryMs, this.setup.pollMs) : { passed: false, failures: [] };
    if (outcome.passed) {
      await this.clearFault();
      progress.done('healthy again');
    }
    return { fault: active.fault, fix, outcome };
  }

  /** Restores a healthy cluster whatever happened: the active fault's fix, then every step re-checked and re-solved where broken. */
  async heal(): Promise<{ fix: ActionsOutcome | null; outcome: CheckOutcome }> {
    return this.exclusive('healing the cluster', () => this.restoreHealth());
  }

  private async restoreHealth(): Promise<{ fix: ActionsOutcome | null; outcome: CheckOutcome }> {
    const active = this.activeFault();
    const fix = active ? await runActions(this.provider, this.lab, active.fault.solve) : null;
    await this.ready(this.clusterChapter - 1);
    const progress = new Progress('healing');
    await fastForward(this.provider, this.lab, this.course.chapters, this.clusterChapter, async ({ chapter, step, action }) => {
      if (action === 'solved') progress.update(`${chapter.number}/${step.id} restored`);
      await updateProgress(this.lab, (state) => markPassed(state, stepKey(chapter.number, step.id)));
    });
    await this.clearFault();
    const outcome = await checkHealth(this.provider, this.lab, this.course.health);
    if (outcome.passed) progress.done('every component is healthy');
    return { fix, outcome };
  }

  /**
   * Runs what changes or grades this lab in its turn: one at a time per lab (of this engine), so two
   * solutions, a check during a solution, or a heal during either, never run at once. Whoever asks
   * while something runs waits for it (in the order asked), and says so in a progress line.
   */
  private exclusive<T>(what: string, work: () => Promise<T>): Promise<T> {
    const progress = new Progress(`lab ${this.lab}`);
    let waited = false;
    const inTurn = async (): Promise<T> => {
      if (waited) progress.done(`its turn: ${what}`);
      return work();
    };
    return turnsOf(this.provider, this.lab).run(what, inTurn, (running) => {
      waited = true;
      progress.update(`waiting for ${running} to finish before ${what}`);
    });
  }

  private async clearFault(): Promise<void> {
    await updateProgress(this.lab, ({ fault: _cleared, ...rest }) => rest);
  }

  /**
   * One object's story through the control loops: who wrote what, when, from the audit log, Events,
   * the objects and the log timeline (src/trace). `ref` is kind/name, as kubectl takes it.
   */
  async trace(ref: string, options: { namespace?: string; sinceMs?: number } = {}): Promise<Trace> {
    const target = parseTarget(ref, options.namespace || 'default');
    if (!target) throw new LabError(`"${ref}" is not something a trace follows`, 'name it as kind/name: deployment/web, replicaset/web-5d8f, pod/web-5d8f-x2k9q, service/web or node/node-0', 2);
    const sinceMs = options.sinceMs ?? TRACE_WINDOW_MS;
    const trace = await collectTrace(this.provider, this.lab, target, { since: Date.now() - sinceMs });
    if (trace.objects.length === 0 && trace.entries.length === 0) {
      const why = trace.unreadable.length ? ` (could not read ${trace.unreadable.join('; ')})` : '';
      throw new LabError(`there is no ${targetName(target)}, and nothing about one in the last ${Math.round(sinceMs / 60_000)} min${why}`, `see what there is: kubectl get ${target.kind}s${target.namespace ? ` -n ${target.namespace}` : ''}, or widen --since`);
    }
    return trace;
  }

  /** What a trace can start from now: deployments, replicasets, pods, services and nodes. */
  traceable(): Promise<Traceable[]> {
    return listTraceable(this.provider, this.lab);
  }

  private mapLayout?: MapLayout;
  /**
   * The live map: each component on each machine with the state its labs/health.yaml check gives,
   * who talks to whom (labs/map.yaml), and whether the cluster has settled. Only what a learner can
   * observe: never which fault is active.
   */
  clusterMap(): Promise<ClusterMap> {
    this.mapLayout ??= loadMapLayout([...new Set(this.course.health.health.map((h) => h.component))]);
    return readClusterMap(this.provider, this.lab, this.course.health, this.mapLayout);
  }

  /** The health checks and guards alone, for a page that shows the cluster's state. */
  health(): Promise<CheckOutcome> {
    return checkHealth(this.provider, this.lab, this.course.health);
  }
}

/** Breaking an unhealthy cluster would teach nothing: says what is unhealthy and how to get a healthy one. */
export class UnhealthyClusterError extends LabError {
  constructor(
    readonly outcome: CheckOutcome,
    lab: string,
    last: number,
  ) {
    super('the cluster is not healthy, so breaking it would teach nothing', `build it with lab up ${last}${lab === 'main' ? '' : ` --lab ${lab}`}, or restore it with lab heal`);
  }
}

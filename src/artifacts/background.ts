import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { LabError } from '../util/errors.ts';
import { currentSink, Progress, reportingTo, type OutputSink } from '../util/output.ts';
import { fromPackage } from '../util/package-root.ts';
import { cacheDir } from '../util/paths.ts';
import { sleep } from '../util/time.ts';
import { describeBuild, RETRY, type BinariesState, type BuildStatus, type HostBinaries } from './build-status.ts';
import { artifactsRoot, isCached } from './cache.ts';
import { componentLabel, componentsOfSets, hostPlatform, type ArtifactSet, type Component } from './manifest.ts';
import { obtain, type ObtainOptions } from './obtain.ts';
import type { SourceName } from './sources/names.ts';

/*
 * One build of the binaries per host at a time, seen by every process.
 *
 * `lab up` is a CLI process that returns as soon as chapter 1 is ready, but the binaries take
 * minutes (a Kubernetes minor about 8 from source on 2 cores). So the build runs in a detached
 * process of its own, `lab artifacts fetch --background --set …`, which outlives the command that
 * started it. Whatever may start one (several `lab up`s, `lab serve`, a room's labs) starts that same
 * process, and the process first takes a lock in the cache folder: one that finds it taken exits
 * at once, so the same thing is never built twice at once. The holder writes what it does to a
 * status file beside the lock (its shape is build-status.ts) and its output to a log; anyone (lab
 * status, the page, a lab waiting for a binary) reads the file, and asks the lock whether its
 * holder still lives. Files only, no daemon: the lock goes stale by itself when its holder dies
 * (proper-lockfile refreshes its mtime while it lives). A foreground `lab artifacts fetch` takes
 * the same lock, after waiting for a background build to finish.
 */

export const buildDir = (): string => join(cacheDir(), 'artifacts-build');
export const statusFile = (): string => join(buildDir(), 'status.json');
export const logFile = (): string => join(buildDir(), 'build.log');
const LOCK = { lockfilePath: 'build.lock', stale: 60_000, update: 15_000, realpath: false } as const;
const lockOptions = () => ({ ...LOCK, lockfilePath: join(buildDir(), LOCK.lockfilePath) });

/** How long a starting build process may take to say it runs (loading the CLI on a busy host). */
const HANDSHAKE_MS = 60_000;
/** How often a foreground fetch looks again at a background build it waits for. */
const FOREGROUND_POLL_MS = 2000;

export async function buildRunning(): Promise<boolean> {
  if (!existsSync(buildDir())) return false;
  return lockfile.check(buildDir(), lockOptions());
}

/** The host's build as its status file says; a build whose process went away is `interrupted`. */
export async function readBuild(): Promise<BuildStatus | null> {
  if (!existsSync(statusFile())) return null;
  let status: BuildStatus;
  try {
    status = JSON.parse(readFileSync(statusFile(), 'utf8')) as BuildStatus;
  } catch {
    return null; // being replaced this instant, or damaged: the next write makes it whole
  }
  return status.state === 'building' && !(await buildRunning()) ? { ...status, state: 'interrupted' } : status;
}

function writeStatus(status: BuildStatus): void {
  const temporary = `${statusFile()}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(status, null, 2));
  renameSync(temporary, statusFile());
}

export const hostBinaries: HostBinaries = {
  async state(sets: ArtifactSet[]): Promise<BinariesState> {
    const platform = hostPlatform();
    return { missing: componentsOfSets(sets).filter((c) => !isCached(c, platform)).map(componentLabel), build: await readBuild() };
  },
  build: startBackgroundBuild,
};

/**
 * Starts `lab artifacts fetch --background` for these sets, detached (its own session: a Ctrl-C or
 * a closed terminal of `lab up` does not stop it), and waits only until it says it took the lock
 * or found it taken. A process that ends before it says so is recorded as a failed build.
 */
export async function startBackgroundBuild(sets: ArtifactSet[], command = buildCommand(sets)): Promise<void> {
  if (await buildRunning()) return;
  mkdirSync(buildDir(), { recursive: true });
  const output = openSync(logFile(), 'a');
  const child = spawn(command[0]!, command.slice(1), { detached: true, stdio: ['ignore', output, output, 'ipc'] });
  closeSync(output);
  const answer = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), HANDSHAKE_MS);
    const settle = (text: string) => {
      clearTimeout(timer);
      resolve(text);
    };
    child.once('message', (message) => settle(String(message)));
    child.once('exit', (code, signal) => settle(`it ended (${signal ?? `exit code ${code}`}) before it started building`));
    child.once('error', (error) => settle(`it did not start: ${error.message}`));
  });
  if (child.connected) child.disconnect();
  child.unref();
  if (answer.startsWith('it ') && !(await buildRunning())) {
    const now = Date.now();
    const components = componentsOfSets(sets).map(componentLabel);
    writeStatus({ state: 'failed', components, total: 0, position: 0, ready: [], startedAt: now, updatedAt: now, finishedAt: now, log: logFile(), pid: child.pid ?? 0, error: { message: `the background build did not start: ${answer}`, next: RETRY } });
  }
}

/** The build's own process: the CLI's fetch, which runs the same code a learner's `lab artifacts fetch` does. */
const buildCommand = (sets: ArtifactSet[]): string[] => [process.execPath, fromPackage('bin', 'lab.js'), 'artifacts', 'fetch', '--background', '--set', sets.join(',')];

export interface BuildRun {
  /** In the background a build that already runs makes this one give up at once; in the foreground it is waited for. */
  background: boolean;
  /** Told once the lock is taken ('building') or found taken ('busy'). */
  announce?: (message: 'building' | 'busy') => void;
}

/**
 * Obtains the components not in the cache yet (every one with `force`) while holding the host's
 * build lock, writing the status file and the log as it goes. In the foreground its lines show on
 * the terminal too. Throws what obtaining threw, after recording it as the build's failure.
 */
export async function runBuild(components: Component[], options: ObtainOptions, run: BuildRun): Promise<'built' | 'busy'> {
  mkdirSync(buildDir(), { recursive: true });
  mkdirSync(artifactsRoot(), { recursive: true });
  const release = await takeLock(run.background);
  if (!release) {
    run.announce?.('busy');
    return 'busy';
  }
  const echo = run.background ? undefined : currentSink();
  try {
    const platform = options.platform ?? hostPlatform();
    const todo = options.force ? components : components.filter((c) => !isCached(c, platform));
    if (todo.length === 0) {
      // Nothing to build: the last build's status and log stay as they are.
      run.announce?.('building');
      return 'built';
    }
    const tracker = new BuildTracker(todo, logFile());
    // Only now: whoever started this reads the status next, and must find this build's, not the last one's.
    run.announce?.('building');
    try {
      await reportingTo(tracker.sink(echo), async () => {
        for (const component of todo) {
          await obtain(component, { ...options, onBinary: tracker.onBinary });
          tracker.landed(component, isCached(component, platform));
        }
      });
    } catch (error) {
      tracker.failed(error);
      throw error;
    }
    tracker.finished();
    return 'built';
  } finally {
    await release();
  }
}

/** The lock, or null when another build holds it and this one runs in the background. */
async function takeLock(background: boolean): Promise<(() => Promise<void>) | null> {
  const waiting = new Progress('waiting for the background build');
  for (let waited = false; ; waited = true) {
    try {
      const release = await lockfile.lock(buildDir(), {
        ...lockOptions(),
        onCompromised: (error) => appendFileSync(logFile(), `warning: the build's lock was taken over (${error.message}); carrying on\n`),
      });
      if (waited) waiting.done('it finished; what it did not make is obtained now');
      return release;
    } catch (error) {
      if ((error as { code?: string }).code !== 'ELOCKED') throw error;
      if (background) return null;
      const build = await readBuild();
      waiting.update(build ? describeBuild(build) : 'another process is starting one');
      await sleep(FOREGROUND_POLL_MS);
    }
  }
}

/** Keeps the status file and the log of one build: which binary it is on, what landed, how it ended. */
export class BuildTracker {
  readonly status: BuildStatus;
  private readonly order: string[];
  private lastWrite = 0;

  constructor(
    todo: Component[],
    private readonly log: string,
    private readonly now: () => number = Date.now,
  ) {
    const started = now();
    this.order = todo.flatMap((c) => c.binaries.map((binary) => `${componentLabel(c)}/${binary}`));
    this.status = { state: 'building', components: todo.map(componentLabel), total: this.order.length, position: 0, ready: [], startedAt: started, updatedAt: started, log, pid: process.pid };
    writeFileSync(log, `${new Date(started).toISOString()} building ${this.status.components.join(', ') || 'nothing: every binary is cached'}\n`);
    this.write();
  }

  readonly onBinary = (component: Component, binary: string, source: SourceName): void => {
    this.status.position = this.order.indexOf(`${componentLabel(component)}/${binary}`) + 1;
    this.status.current = { component: componentLabel(component), binary, source };
    this.write();
  };

  landed(component: Component, cached: boolean): void {
    const label = componentLabel(component);
    if (cached) this.status.ready.push(label);
    this.status.position = Math.max(this.status.position, this.order.lastIndexOf(`${label}/${component.binaries.at(-1)}`) + 1);
    this.write();
  }

  finished(): void {
    this.end('done');
  }

  failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const own = error instanceof LabError ? error.next : undefined;
    this.status.error = { message, next: own ? `${own}; then build them again: lab artifacts fetch` : RETRY };
    this.line(`error: ${message}`);
    this.end('failed');
  }

  /** Every line goes to the log; a progress line also becomes the current binary's detail (written at most once a second). */
  sink(echo?: OutputSink): OutputSink {
    return {
      update: (label, detail) => {
        this.line(`${label}: ${detail}`);
        if (this.status.current) this.status.current.detail = detail;
        if (this.now() - this.lastWrite >= 1000) this.write();
        echo?.update(label, detail);
      },
      done: (label, detail) => {
        this.line(`✓ ${label}: ${detail}`);
        echo?.done(label, detail);
      },
      say: (line) => {
        this.line(line);
        echo?.say(line);
      },
      warn: (line) => {
        this.line(line);
        echo?.warn(line);
      },
    };
  }

  private end(state: 'done' | 'failed'): void {
    this.status.state = state;
    this.status.finishedAt = this.now();
    this.line(`${new Date(this.status.finishedAt).toISOString()} ${describeBuild(this.status, this.status.finishedAt)}`);
    this.write();
  }

  private line(text: string): void {
    appendFileSync(this.log, `${text}\n`);
  }

  private write(): void {
    this.lastWrite = this.now();
    this.status.updatedAt = this.lastWrite;
    writeStatus(this.status);
  }
}

// Measures a first run with empty caches: from `lab up 1` starting to chapter 1 ready (the command
// returned and `lab check` of its step runs) and to chapter 2 ready (the binaries it needs are
// built: `lab check` of its first step stops waiting for them and grades). Prints figures; asserts
// nothing. Run it alone (`npm run bench -- first-run`): it takes about half an hour on 2 cores and
// builds the course's binaries from source (HARDWAY_SOURCES=source unless set). What it made (the lab,
// its cache and state folders, a build still running from them) is removed at the end.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildStatus } from '../../src/artifacts/build-status.ts';
import { loadCourse } from '../../src/engine/course.ts';
import { cacheDir } from '../../src/util/paths.ts';
import { sleep } from '../../src/util/time.ts';
import { labAsync, type CliResult } from '../helpers/cli.ts';
import { ensureEngine } from '../helpers/engine.ts';

const LAB = `bench-first-${process.pid.toString(36)}`;

/** A new, empty cache folder; the host's Go module cache is linked into it when there is one (its download is network, not the build). */
export interface EmptyCache {
  dir: string;
  /** The host's module cache, linked in; null when it had none and the modules are downloaded too. */
  modules: string | null;
}

export function emptyCache(hostCache: string, parent = tmpdir()): EmptyCache {
  const dir = mkdtempSync(join(parent, 'hardway-first-run-'));
  const hostModules = join(hostCache, 'go', 'mod');
  if (!existsSync(hostModules)) return { dir, modules: null };
  mkdirSync(join(dir, 'go'));
  symlinkSync(hostModules, join(dir, 'go', 'mod'));
  return { dir, modules: hostModules };
}

/** Removes the folder, never what its module-cache link points at. Go makes its module files read-only. */
export function removeCache(cache: EmptyCache): void {
  const link = join(cache.dir, 'go', 'mod');
  if (existsSync(link) && lstatSync(link).isSymbolicLink()) unlinkSync(link);
  spawnSync('chmod', ['-R', 'u+w', cache.dir]);
  rmSync(cache.dir, { recursive: true, force: true });
}

export function describeEmpty(cache: EmptyCache, sources: string): string[] {
  return [
    `empty means: a new HARDWAY_CACHE (${cache.dir}): no binaries, no Go build cache (GOCACHE), no build folders`,
    cache.modules ? `the Go module cache (GOMODCACHE) is the host's, linked in (${cache.modules}): downloading modules is network, not the build` : 'the host has no Go module cache: the modules are downloaded too',
    "the machine image and the pod images are the Docker engine's as they are (a bare host builds the machine image at its first lab up too)",
    `binaries from: ${sources}; host load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the host slows every figure)`,
  ];
}

/** Whether `lab check` graded the step (passed or not), rather than failing before it could. */
export const graded = (result: CliResult): boolean => /^[✓✗] /m.test(result.stdout);

/** The build of this cache as its status file says (null before one started). */
export function buildOf(cache: EmptyCache): BuildStatus | null {
  const file = join(cache.dir, 'artifacts-build', 'status.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BuildStatus) : null;
}

/** The build once it has written how it ended (its binaries land a moment before it does). */
async function endedBuild(cache: EmptyCache, timeoutMs = 60_000): Promise<BuildStatus | null> {
  const deadline = Date.now() + timeoutMs;
  while (buildOf(cache)?.state === 'building' && Date.now() < deadline) await sleep(500);
  return buildOf(cache);
}

/** Ends a build still running from this cache (a failure half-way): the process group the bench started through lab up. */
async function stopBuild(cache: EmptyCache): Promise<void> {
  const build = buildOf(cache);
  if (build?.state !== 'building') return;
  const alive = (): boolean => {
    try {
      process.kill(build.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-build.pid, 'SIGTERM');
  for (let waited = 0; alive() && waited < 20_000; waited += 500) await sleep(500);
}

const seconds = (since: number): string => ((performance.now() - since) / 1000).toFixed(0);

export async function benchFirstRun(): Promise<void> {
  await ensureEngine();
  const cache = emptyCache(cacheDir());
  const sources = process.env.HARDWAY_SOURCES ?? 'source';
  const env = { HARDWAY_CACHE: cache.dir, HARDWAY_STATE: join(cache.dir, 'state'), HARDWAY_SOURCES: sources };
  const course = loadCourse();
  const firstStep = (n: number): string => `${n}/${course.find((c) => c.number === n)!.steps[0]!.id}`;
  for (const line of describeEmpty(cache, sources)) console.log(`first-run: ${line}`);
  try {
    const started = performance.now();
    const up = await labAsync(['up', '1', '--lab', LAB], env, 60 * 60_000);
    if (up.code !== 0) throw new Error(`lab up 1 failed:\n${up.stderr}`);
    const returned = seconds(started);
    const one = await labAsync(['check', firstStep(1), '--lab', LAB], env);
    if (!graded(one)) throw new Error(`lab check ${firstStep(1)} did not grade:\n${one.stderr}`);
    const chapterOne = seconds(started);
    const two = await labAsync(['check', firstStep(2), '--lab', LAB], env, 120 * 60_000);
    if (!graded(two)) throw new Error(`lab check ${firstStep(2)} did not grade (did the build fail?):\n${two.stderr.split('\n').slice(-8).join('\n')}`);
    const chapterTwo = seconds(started);
    const status = (await endedBuild(cache))!;
    console.log(`first-run: lab up 1 returned after ${returned} s; chapter 1 ready (lab check ${firstStep(1)} graded) after ${chapterOne} s`);
    console.log(`first-run: chapter 2 ready (its binaries built, lab check ${firstStep(2)} graded) after ${chapterTwo} s`);
    console.log(`first-run: the background build (${status.state}): ${status.components.join(', ')}: ${status.total} binaries in ${(((status.finishedAt ?? Date.now()) - status.startedAt) / 1000).toFixed(0)} s`);
  } finally {
    await labAsync(['down', '--lab', LAB], env);
    await stopBuild(cache);
    removeCache(cache);
  }
}

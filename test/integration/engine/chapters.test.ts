import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerProvider } from '../../../vm/docker-provider.ts';
import { loadCourse, type Chapter } from '../../../src/engine/course.ts';
import { checkHealth, loadHealth } from '../../../src/engine/faults.ts';
import { markPassed, stepKey, updateProgress } from '../../../src/engine/progress.ts';
import { checkStep, fastForward, runChecks, solveStep, type StepEvent } from '../../../src/engine/runner.ts';
import { IMPORTABLE_SNAPSHOT, type Snapshot } from '../../../src/engine/snapshots.ts';
import { ensureArtifacts } from '../../helpers/artifacts.ts';
import { lab } from '../../helpers/cli.ts';
import { ensureEngine, realLab } from '../../helpers/engine.ts';
import { Typist } from '../../helpers/typist.ts';

const suffix = process.pid.toString(36);
const FRESH = `it-ch-${suffix}`;
const RESTORED = `it-snap-${suffix}`;
const RESUME = `it-up-${suffix}`;
/** A second lab beside the typed one, where every solution is replayed from scratch, as `lab up N` does for a learner who skips ahead. */
const SOLVED = `it-solved-${suffix}`;
/** Typing every chapter builds a whole cluster: minutes, not the default 60 s. */
const WHOLE_COURSE_MS = 2_400_000;
const state = { HARDWAY_STATE: mkdtempSync(join(tmpdir(), 'hardway-state-')) };
// The engine's snapshot and restore read the same state as the CLI runs of this file.
process.env.HARDWAY_STATE = state.HARDWAY_STATE;
const EXPORT = mkdtempSync(join(tmpdir(), 'hardway-snapshot-export-'));
const CHAPTERS = loadCourse();
const LAST = Math.max(...CHAPTERS.map((c) => c.number));
const MARKER = '/root/.made-before-the-snapshot';
/** How long a learner takes to read what the last block printed before pressing Check. */
const LEARNER_READS_MS = 10_000;
const ARTIFACTS = join(process.cwd(), 'test-results');
/** Everything the learner's terminals printed, block by block: where to look when a step's prose fails. */
const TRANSCRIPT = join(ARTIFACTS, 'typed-course.txt');
let typist: Typist | undefined;
let solvedReplay: Promise<StepEvent[]> | undefined;

describe('chapters on a real lab, and a snapshot of it', () => {
  const provider = new DockerProvider();

  beforeAll(async () => {
    await ensureEngine();
    await ensureArtifacts();
    const up = lab(['up', '--lab', FRESH], state, 900_000);
    expect(up.code, up.stderr).toBe(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(TRANSCRIPT, '');
    typist = new Typist(provider, FRESH, TRANSCRIPT);
    // The solutions' own replay runs beside the typing: one more cluster for the same wall time.
    const solvedLab = realLab(SOLVED, provider);
    solvedReplay = solvedLab.up(1).then(async () => {
      const events: StepEvent[] = [];
      await fastForward(provider, SOLVED, CHAPTERS, LAST + 1, (event) => void events.push(event));
      return events;
    });
    // Awaited by its own test; until then a failure must not count as unhandled.
    solvedReplay.catch(() => undefined);
  });

  /** The SHA-256 of every key, certificate, kubeconfig and encryption config on the jumpbox. */
  async function jumpboxSecrets(): Promise<string> {
    const script = 'cd /root && shopt -s nullglob && files=(*.key *.crt *.kubeconfig encryption-config.yaml .kube/config) && for f in "${files[@]}"; do [ -f "$f" ] && sha256sum "$f"; done; true';
    const result = await provider.exec(FRESH, 'jumpbox', ['bash', '-c', script]);
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout;
  }

  afterAll(async () => {
    typist?.close();
    await solvedReplay?.catch(() => undefined);
    await provider.deleteLab(SOLVED);
    await provider.deleteLab(FRESH);
    await provider.deleteLab(RESTORED);
    await provider.deleteLab(RESUME);
  }, 300_000);

  it('on a lab where nothing was built yet, every single check of every step fails (checks fail closed)', { timeout: 600_000 }, async () => {
    const passing: string[] = [];
    for (const chapter of CHAPTERS) {
      for (const step of chapter.steps) {
        for (const [index, check] of step.checks.entries()) {
          const outcome = await runChecks(provider, FRESH, [check], step.machine);
          if (outcome.passed) passing.push(`${chapter.number}/${step.id} check ${index + 1}: ${check.fail}`);
        }
      }
    }
    expect(passing).toEqual([]);
  });

  /** Failures of a step's checks, as a learner reads them after lab check. */
  const said = (outcome: Awaited<ReturnType<typeof checkStep>>): string => outcome.failures.map((f) => `${f.check.fail} ${f.output}`.trim()).join('; ');

  /** Grades a step as a learner presses Check after reading what the last block printed: a few tries over a few seconds. */
  async function checkAsLearner(step: Chapter['steps'][number]): Promise<Awaited<ReturnType<typeof checkStep>>> {
    const deadline = Date.now() + LEARNER_READS_MS;
    for (;;) {
      const outcome = await checkStep(provider, FRESH, step);
      if (outcome.passed || Date.now() > deadline) return outcome;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  /**
   * The step's check fails before anything is typed; its prose, typed block by block into the lab's own
   * terminals, makes it pass (an exercise's prose leaves work to the learner: it must still fail then, and
   * its solution make it pass); and the solution run on top of what was typed (as lab heal and a restore
   * do) succeeds, leaves it passing, and keeps the keys, certificates, kubeconfigs and encryption key
   * already made (others were built on them).
   */
  async function proveStep(chapter: Chapter, step: Chapter['steps'][number]): Promise<void> {
    const name = `${chapter.number}/${step.id}`;
    const before = await checkStep(provider, FRESH, step);
    expect(before.passed, `${name} passed before its prose was typed`).toBe(false);
    expect(before.failures.length).toBeGreaterThan(0);
    const typed = await typist!.typeStep(step, name);
    const afterProse = await checkAsLearner(step);
    const ran = typed.map((t, i) => `block ${i + 1} ${t.block.place}${t.host ? ` ended on ${t.host}` : ''}`).join('; ');
    if (step.exercise) {
      expect(afterProse.passed, `${name} is an exercise, yet its prose alone passed`).toBe(false);
      await solveStep(provider, FRESH, step);
      const solved = await checkStep(provider, FRESH, step);
      expect(solved.passed, `${name} (an exercise) still fails after its solution: ${said(solved)}`).toBe(true);
    } else {
      expect(afterProse.passed, `${name} fails after its prose was typed (${ran}): ${said(afterProse)}\n${typist!.screens()}`).toBe(true);
    }

    const made = await jumpboxSecrets();
    const onTop = await solveStep(provider, FRESH, step).then(
      () => '',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(onTop, `${name}: its solution failed when run after the prose`).toBe('');
    const again = await checkStep(provider, FRESH, step);
    expect(again.passed, `${name} fails after its solution ran on top of the prose: ${said(again)}`).toBe(true);
    expect(await jumpboxSecrets(), `${name}: running its solution after the prose replaced files other steps were built on`).toEqual(made);
    // Recorded as the learner's progress would be, so the lab can be kept as a snapshot below.
    await updateProgress(FRESH, (progress) => markPassed(progress, stepKey(chapter.number, step.id)));
  }

  it(`every step's check fails before its prose is typed into the lab's terminal and passes after (chapters 1-${LAST - 1})`, async () => {
    for (const chapter of CHAPTERS.filter((c) => c.number < LAST)) {
      for (const step of chapter.steps) await proveStep(chapter, step);
    }
  }, WHOLE_COURSE_MS);

  it(`in a second lab, every step's solution replayed from scratch (chapters 1-${LAST}) finds its check failing and makes it pass`, async () => {
    const events = await solvedReplay!;
    expect(events.filter((e) => e.action === 'already-done').map((e) => `${e.chapter.number}/${e.step.id} passed before its solution ran`)).toEqual([]);
    expect(events).toHaveLength(CHAPTERS.reduce((n, c) => n + c.steps.length, 0));
    await provider.deleteLab(SOLVED);
  }, WHOLE_COURSE_MS);

  // The lab just built is the one the snapshot tests need: kept at the end of the chapter before the last, restored into a new lab.
  describe('a snapshot at the last chapter, restored into a new lab on another subnet', () => {
    let snapshot: Snapshot | undefined;

    afterAll(async () => {
      await provider.deleteLab(RESTORED);
      if (snapshot) await provider.removeSnapshot(snapshot.id);
      rmSync(EXPORT, { recursive: true, force: true });
    }, 300_000);

    it('keeps the lab at the end of the chapter before the last, with its passed steps, and the lab goes on', { timeout: 600_000 }, async () => {
      expect((await provider.exec(FRESH, 'jumpbox', ['touch', MARKER])).exitCode).toBe(0);
      const first = realLab(FRESH, provider);
      snapshot = await first.snapshot();
      expect(snapshot.chapter).toBe(LAST - 1);
      const before = CHAPTERS.filter((c) => c.number < LAST).flatMap((c) => c.steps.map((s) => `${c.number}/${s.id}`));
      expect([...snapshot.passed].sort()).toEqual(before.sort());
      expect(snapshot.sizeBytes).toBeGreaterThan(100e6);
      const listed = await first.snapshots();
      expect(listed.find((l) => l.snapshot.id === snapshot!.id)?.usable).toBe(true);
      expect(await checkHealth(provider, FRESH, loadHealth())).toMatchObject({ passed: true });
    });

    it('travels as plain files: exported, removed, imported, it is the same usable snapshot', { timeout: 600_000 }, async () => {
      const first = realLab(FRESH, provider);
      await provider.exportSnapshot(snapshot!.id, EXPORT);
      await provider.removeSnapshot(snapshot!.id);
      expect((await first.snapshots()).some((l) => l.snapshot.id === snapshot!.id)).toBe(false);
      await provider.importSnapshot(EXPORT, IMPORTABLE_SNAPSHOT);
      const listed = (await first.snapshots()).find((l) => l.snapshot.id === snapshot!.id);
      expect(listed?.usable).toBe(true);
      expect(listed?.snapshot.passed).toEqual(snapshot!.passed);
    });

    it(`lab up ${LAST} of a new lab restores it: its own subnet, every check of every earlier step passes, nodes carry the new addresses`, { timeout: 600_000 }, async () => {
      // The first lab keeps running: the second gets another /24, as a room's labs do.
      const second = realLab(RESTORED, provider);
      const started = Date.now();
      await second.up(LAST);
      const seconds = (Date.now() - started) / 1000;
      console.log(`lab up ${LAST} from snapshot ${snapshot!.id}: ${seconds.toFixed(1)} s`);
      expect((await provider.exec(RESTORED, 'jumpbox', ['test', '-f', MARKER])).exitCode, 'the jumpbox came from the snapshot').toBe(0);

      const ips = async (name: string): Promise<Record<string, string>> => Object.fromEntries((await provider.list(name)).map((m) => [m.name, m.ip ?? '']));
      const [old, now] = [await ips(FRESH), await ips(RESTORED)];
      expect(now.server!.split('.').slice(0, 3)).not.toEqual(old.server!.split('.').slice(0, 3));

      expect(second.progress().passed.sort()).toEqual([...snapshot!.passed].sort());
      expect(second.progress().chapter).toBe(LAST);

      // lab up trusted the snapshot once the cluster was healthy: every step must now pass again by itself,
      // nothing solved (Prometheus needs a scrape or two, every 15 s, before its steps do).
      const steps = CHAPTERS.filter((c) => c.number < LAST).flatMap((c) => c.steps.map((step) => ({ key: `${c.number}/${step.id}`, step })));
      const deadline = Date.now() + 180_000;
      let failing: string[];
      for (;;) {
        const outcomes = await Promise.all(steps.map(({ step }) => checkStep(provider, RESTORED, step)));
        failing = steps.flatMap(({ key }, i) => (outcomes[i]!.passed ? [] : [`${key}: ${outcomes[i]!.failures.map((f) => `${f.check.fail} ${f.output}`).join('; ')}`]));
        if (failing.length === 0 || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 5000));
      }
      console.log(`every step of chapters 1-${LAST - 1} passed again ${((Date.now() - started) / 1000).toFixed(1)} s after lab up began, nothing solved`);
      expect(failing).toEqual([]);

      const machines = await provider.exec(RESTORED, 'jumpbox', ['cat', '/root/machines.txt']);
      expect(machines.stdout).toContain(`${now.server} server.kubernetes.local server`);
      expect(machines.stdout).not.toContain(`${old.server} `);
      const nodes = await provider.exec(RESTORED, 'server', [
        'kubectl', 'get', 'nodes', '--kubeconfig', '/root/admin.kubeconfig', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.addresses[?(@.type=="InternalIP")].address} {end}',
      ]);
      expect(nodes.stdout.trim().split(' ').sort()).toEqual([`node-0=${now['node-0']}`, `node-1=${now['node-1']}`]);
      const routes = await provider.exec(RESTORED, 'server', ['ip', 'route', 'show', '10.200.1.0/24']);
      expect(routes.stdout).toContain(`via ${now['node-1']}`);
      expect(await checkHealth(provider, RESTORED, loadHealth())).toMatchObject({ passed: true });
    });

    it('a fault is proven on the restored lab end to end: break, the check fails, give up, healthy', { timeout: 600_000 }, async () => {
      const second = realLab(RESTORED, provider);
      const fault = await second.breakCluster({ id: 'kube-proxy-flushed' });
      expect(fault.id).toBe('kube-proxy-flushed');
      const broken = await second.check();
      expect(broken.kind).toBe('fault');
      expect(broken.outcome.passed).toBe(false);
      const gaveUp = await second.giveUp();
      expect(gaveUp.fix.ok, gaveUp.fix.output).toBe(true);
      expect(gaveUp.outcome.failures.map((f) => `${f.check.fail} ${f.output}`)).toEqual([]);
      expect(second.activeFault()).toBeNull();
      // Two whole clusters are one too many for what follows.
      await provider.deleteLab(RESTORED);
    });
  });

  it(`every step's check fails before its prose is typed and passes after (chapter ${LAST}, on the lab after its snapshot)`, async () => {
    for (const chapter of CHAPTERS.filter((c) => c.number === LAST)) {
      for (const step of chapter.steps) await proveStep(chapter, step);
    }
    // One whole cluster at a time is enough: free this one before the next test builds another.
    await provider.deleteLab(FRESH);
  }, WHOLE_COURSE_MS);

  // The test above already ran every solution; chapter 5 (machines, hosts, certificates) is enough to prove the
  // replay and the resume, and --no-snapshot keeps it a replay whatever snapshots earlier test files kept.
  it('lab up N replays the chapters before N, persists progress, and a re-run solves nothing again', () => {
    const first = lab(['up', '5', '--no-snapshot', '--lab', RESUME], state, 900_000);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/solved/);
    const chapters = lab(['chapters', '--lab', RESUME], state);
    expect(chapters.stdout).toMatch(/✓ +1 +Prerequisites and machines +1\/1 steps/);

    const again = lab(['up', '5', '--lab', RESUME], state, 900_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/ solved/);
    expect(again.stderr).toMatch(/already done/);
  }, WHOLE_COURSE_MS);

  it('check says what is wrong in plain words; hint climbs its ladder; solve makes the check pass', { timeout: 300_000 }, () => {
    const env = { ...state };
    const failing = lab(['check', '--lab', RESUME], env);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/✗ /);
    expect(failing.stderr).toMatch(/error: not yet/);
    expect(lab(['hint', '--lab', RESUME], env).stdout).toMatch(/^Hint 1 of \d+: /);
    expect(lab(['hint', '--lab', RESUME], env).stdout).toMatch(/^Hint 2 of \d+: /);
    const solved = lab(['solve', '--lab', RESUME], env);
    expect(solved.code, solved.stderr).toBe(0);
    expect(solved.stdout).toMatch(/✓ /);
  });

  it('an unknown chapter is a clear usage error', () => {
    const result = lab(['up', '99', '--lab', RESUME], state);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: there is no chapter 99/);
  });
});

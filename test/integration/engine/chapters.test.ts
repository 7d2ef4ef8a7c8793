import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerProvider } from '../../../vm/docker-provider.ts';
import { loadCourse } from '../../../src/engine/course.ts';
import { checkStep, runChecks, solveStep } from '../../../src/engine/runner.ts';
import { ensureArtifacts } from '../../helpers/artifacts.ts';
import { lab } from '../../helpers/cli.ts';
import { ensureEngine } from '../../helpers/engine.ts';

const suffix = process.pid.toString(36);
const FRESH = `it-ch-${suffix}`;
const RESUME = `it-up-${suffix}`;
/** Replaying every chapter builds a whole cluster: minutes, not the default 60 s. */
const WHOLE_COURSE_MS = 1_200_000;
const state = { HARDWAY_STATE: mkdtempSync(join(tmpdir(), 'hardway-state-')) };

describe('chapters on a real lab', () => {
  const provider = new DockerProvider();

  beforeAll(async () => {
    await ensureEngine();
    await ensureArtifacts();
    const up = lab(['up', '--lab', FRESH], state, 900_000);
    expect(up.code, up.stderr).toBe(0);
  });

  /** The SHA-256 of every key, certificate, kubeconfig and encryption config on the jumpbox. */
  async function jumpboxSecrets(): Promise<string> {
    const script = 'cd /root && shopt -s nullglob && files=(*.key *.crt *.kubeconfig encryption-config.yaml .kube/config) && for f in "${files[@]}"; do [ -f "$f" ] && sha256sum "$f"; done; true';
    const result = await provider.exec(FRESH, 'jumpbox', ['bash', '-c', script]);
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout;
  }

  afterAll(async () => {
    await provider.deleteLab(FRESH);
    await provider.deleteLab(RESUME);
  });

  it('on a lab where nothing was built yet, every single check of every step fails (checks fail closed)', { timeout: 600_000 }, async () => {
    const passing: string[] = [];
    for (const chapter of loadCourse()) {
      for (const step of chapter.steps) {
        for (const [index, check] of step.checks.entries()) {
          const outcome = await runChecks(provider, FRESH, [check], step.machine);
          if (outcome.passed) passing.push(`${chapter.number}/${step.id} check ${index + 1}: ${check.fail}`);
        }
      }
    }
    expect(passing).toEqual([]);
  });

  it('every step\'s check fails before its solution runs and passes after', async () => {
    for (const chapter of loadCourse()) {
      for (const step of chapter.steps) {
        const name = `${chapter.number}/${step.id}`;
        const before = await checkStep(provider, FRESH, step);
        expect(before.passed, `${name} passed before its solution ran`).toBe(false);
        expect(before.failures.length).toBeGreaterThan(0);
        await solveStep(provider, FRESH, step);
        const after = await checkStep(provider, FRESH, step);
        expect(after.passed, `${name} still fails after its solution: ${after.failures.map((f) => f.check.fail + ' ' + f.output).join('; ')}`).toBe(true);

        // A restarted lab re-solves a step whose check failed for a moment: a second run must
        // succeed, leave the step passing, and keep the keys, certificates, kubeconfigs and
        // encryption key already made (others were built on them).
        const made = await jumpboxSecrets();
        const second = await solveStep(provider, FRESH, step).then(
          () => '',
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        );
        expect(second, `${name}: its solution failed when run a second time`).toBe('');
        const again = await checkStep(provider, FRESH, step);
        expect(again.passed, `${name} fails after its solution ran a second time: ${again.failures.map((f) => f.check.fail + ' ' + f.output).join('; ')}`).toBe(true);
        expect(await jumpboxSecrets(), `${name}: running its solution a second time replaced files other steps were built on`).toEqual(made);
      }
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

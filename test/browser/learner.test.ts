import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabEngine } from '../../src/engine/lab.ts';
import { startServer, type RunningServer } from '../../src/web/server.ts';
import { ensureUiBuilt } from '../../src/web/ui-build.ts';
import { ensureArtifacts } from '../helpers/artifacts.ts';
import { launchChromium, runJob, waitForScreen, typeInto } from '../helpers/browser.ts';
import { ensureEngine, realLab } from '../helpers/engine.ts';

const LAB = `it-learner-${process.pid.toString(36)}`;
const ARTIFACTS = 'test-results';
const FAULT = 'scheduler-stopped';

/**
 * A learner who never opens a terminal of their own: everything from the page, on a real lab that
 * has no machines when the server starts.
 */
describe('a learner in the browser lab', () => {
  let engine: LabEngine;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    process.env.HARDWAY_STATE = `/tmp/hardway-learner-state-${process.pid}`;
    await ensureEngine();
    await ensureArtifacts();
    engine = realLab(LAB);
    server = await startServer({ engine, host: '127.0.0.1', port: 0, uiDir: await ensureUiBuilt() });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await engine?.down();
  });

  it('starts a lab at chapter 4 from the start page, its progress streamed, surviving a reload', { timeout: 1_200_000 }, async () => {
    await page.goto(server.url);
    await expect.poll(() => page.locator('start-page h2').count()).toBe(1);
    expect(await page.locator('machine-terminal').count()).toBe(0);
    await page.locator('start-page select').selectOption('4');
    const started = Date.now();
    await runJob(page, async () => {
      await page.getByRole('button', { name: 'Start the lab here' }).click();
      await expect.poll(() => page.locator('job-progress section li').count(), { timeout: 120_000 }).toBeGreaterThan(0);
      await page.screenshot({ path: `${ARTIFACTS}/learner-1-starting.png` });
      await page.reload();
      await expect.poll(() => page.locator('job-progress h3').innerText()).toBe('Starting the lab at chapter 4');
    }, 1_100_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(`lab up 4 from the page: ${seconds.toFixed(1)} s`);
    expect(await page.locator('job-progress ol').innerText()).toMatch(/steps replayed or already done/);
    await waitForScreen(page, 'jumpbox', (t) => t.includes('root@jumpbox'), 'a prompt');
    expect(await page.locator('step-view .machine').innerText()).toMatch(/Chapter 4/);
    await page.screenshot({ path: `${ARTIFACTS}/learner-2-chapter-4.png` });
  });

  it('a fresh page loads to its first terminal prompt', async () => {
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      const started = Date.now();
      await fresh.goto(server.url);
      await waitForScreen(fresh, 'jumpbox', (t) => t.includes('root@jumpbox'), 'a prompt');
      console.log(`page load to first terminal prompt: ${((Date.now() - started) / 1000).toFixed(2)} s`);
    } finally {
      await fresh.close();
    }
  });

  it('passes a step: Check says what is missing, the command typed in the terminal, Check passes', async () => {
    const status = page.locator('step-view [role="status"]');
    await page.getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => status.innerText(), { timeout: 30_000 }).toMatch(/Not yet[\s\S]*ca\.key/);
    await typeInto(page, 'jumpbox', 'cd /root && openssl genrsa -out ca.key 4096 && openssl req -x509 -new -sha512 -noenc -key ca.key -days 3653 -config ca.conf -out ca.crt && echo CA-MADE');
    await waitForScreen(page, 'jumpbox', (t) => /^CA-MADE/m.test(t), 'CA-MADE');
    await page.getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => status.innerText(), { timeout: 30_000 }).toMatch(/Passed/);
    await expect.poll(() => page.locator('chapter-list details[open] .count').innerText()).toMatch(/^1\/\d+$/);
    await page.screenshot({ path: `${ARTIFACTS}/learner-3-step-passed.png` });
  });

  it('break and fix asks for a finished course, and fast-forwards to the last chapter from the page', { timeout: 1_800_000 }, async () => {
    await page.getByRole('button', { name: 'Break & fix' }).click();
    const panel = page.locator('fault-panel .panel');
    await expect.poll(() => panel.innerText()).toMatch(/Breaking needs a healthy, finished cluster[\s\S]*built through chapter 3/);
    const last = engine.clusterChapter;
    const started = Date.now();
    await runJob(page, () => page.getByRole('button', { name: `Fast-forward to chapter ${last}` }).click(), 1_700_000);
    console.log(`fast-forward to chapter ${last} from the page: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await expect.poll(() => panel.locator('ul.faults li').count()).toBe(engine.course.faults.length);
  });

  it(`breaks ${FAULT}, sees Check fail with its symptom, takes two hints, reloads, gives up, sees the cluster healthy`, { timeout: 600_000 }, async () => {
    const panel = page.locator('fault-panel .panel');
    const fault = engine.course.faults.find((f) => f.id === FAULT)!;
    expect(await panel.locator('ul.faults').innerText()).not.toContain(fault.title);
    const row = panel.locator(`li[data-fault="${FAULT}"]`);
    await row.getByRole('button', { name: 'Choose' }).click();
    expect(await row.innerText()).toContain(fault.title);
    await runJob(page, () => row.getByRole('button', { name: 'Break it' }).click(), 180_000);
    await expect.poll(() => panel.locator('[aria-label="symptom"]').innerText()).toBe(fault.symptom);

    await panel.getByRole('button', { name: 'Check' }).click();
    const check = panel.locator('[aria-label="fault check"]');
    await expect.poll(() => check.innerText(), { timeout: 120_000 }).toMatch(/Still broken/);
    expect(await check.innerText()).toContain(fault.fixed[0]!.fail);

    await panel.getByRole('button', { name: 'Hint' }).click();
    await expect.poll(() => panel.locator('ol.hints li').count()).toBe(1);
    await panel.getByRole('button', { name: 'Hint' }).click();
    await expect.poll(() => panel.locator('ol.hints li').count()).toBe(2);
    await page.screenshot({ path: `${ARTIFACTS}/learner-4-fault.png` });

    await page.reload();
    await expect.poll(() => panel.locator('[aria-label="symptom"]').innerText()).toBe(fault.symptom);
    expect(await panel.locator('ol.hints').innerText()).toContain(`Hint 2 of ${fault.hints.length}: ${fault.hints[1]}`);
    expect(await panel.locator('ol.hints li').count()).toBe(2);
    expect(await page.locator('chapter-list .count').nth(3).innerText()).toMatch(/^(\d+)\/\1$/);

    const answer = panel.locator('[aria-label="answer"]');
    await runJob(page, async () => {
      await panel.getByRole('button', { name: 'Give up' }).click();
      await expect.poll(() => answer.innerText()).toMatch(/systemctl stop kube-scheduler[\s\S]*The fix:[\s\S]*systemctl start kube-scheduler/);
    }, 400_000);
    await expect.poll(() => answer.locator('[aria-label="health"]').innerText()).toMatch(/healthy again/);
    const health = await fetch(`http://127.0.0.1:${server.port}/api/health`, { headers: { Authorization: `Bearer ${server.token}` } });
    expect(await health.json()).toEqual({ passed: true, failures: [] });
    await page.screenshot({ path: `${ARTIFACTS}/learner-5-healthy.png` });
  });
});

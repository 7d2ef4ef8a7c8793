import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/web/server.ts';
import { ensureUiBuilt } from '../../src/web/ui-build.ts';
import { launchChromium, runJob } from '../helpers/browser.ts';
import { fakeLab } from '../helpers/fake-course.ts';
import type { FakeProvider } from '../helpers/fake-provider.ts';

const ARTIFACTS = 'test-results';

/** The text an element shows, into its shadow roots and theirs (innerText stops at a shadow root). */
const deepText = (page: Page, selector: string): Promise<string> =>
  page.locator(selector).first().evaluate((root) => {
    const walk = (node: Node): string => {
      if (node.nodeType === Node.TEXT_NODE) return node.textContent ?? '';
      const element = node as Element;
      const children = [...(element.shadowRoot?.childNodes ?? []), ...node.childNodes];
      return children.map(walk).join(' ');
    };
    return walk(root).replace(/\s+/g, ' ');
  });

/**
 * The page's own logic on the in-memory fake lab (seconds, no Docker): the start page, jobs and
 * their progress, the lab panel, break-and-fix with its hidden titles, and what survives a reload.
 */
describe('the browser lab on a fake lab', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let provider: FakeProvider;

  beforeAll(async () => {
    const made = fakeLab();
    provider = made.provider;
    server = await startServer({ engine: made.engine, host: '127.0.0.1', port: 0, uiDir: await ensureUiBuilt() });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a lab with no machines shows the start page; starting it streams the job and then shows terminals', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.locator('start-page h2').innerText(), { timeout: 15_000 }).toBe('Start lab unit');
    expect(await page.locator('machine-terminal').count()).toBe(0);
    await page.locator('start-page select').selectOption('2');
    expect(await runJob(page, () => page.getByRole('button', { name: 'Start the lab here' }).click(), 20_000)).toMatch(/chapters before 2: 2 steps replayed/);
    await expect.poll(() => page.locator('machine-terminal[machine="jumpbox"] .xterm-rows').innerText(), { timeout: 15_000 }).toContain('root@jumpbox');
    expect(await page.locator('chapter-list .count').first().innerText()).toBe('2/2');
    expect(await page.locator('step-view h2, step-view .machine').first().innerText()).toMatch(/Chapter 2/);
    // the token survives a reload (kept in sessionStorage), though the address bar lost it
    expect(page.url()).not.toContain('token=');
    await page.reload();
    await expect.poll(() => page.locator('chapter-list .count').first().innerText(), { timeout: 15_000 }).toBe('2/2');
  });

  it('break and fix says the course is not finished and fast-forwards', async () => {
    await page.getByRole('button', { name: 'Break & fix' }).click();
    const panel = page.locator('fault-panel');
    await expect.poll(() => panel.locator('.panel').innerText(), { timeout: 15_000 }).toMatch(/built through chapter 1/);
    await runJob(page, () => page.getByRole('button', { name: 'Fast-forward to chapter 3' }).click(), 20_000);
    await expect.poll(() => panel.locator('ul.faults li').count(), { timeout: 15_000 }).toBe(3);
  });

  it('titles are hidden until chosen; a break shows the symptom, Check, two hints; a reload keeps them; give up shows the answer', async () => {
    provider.factsOf('unit').add('healthy');
    const panel = page.locator('fault-panel');
    expect(await panel.locator('ul.faults').innerText()).not.toContain('Fault etcd-down');
    const row = panel.locator('li[data-fault="etcd-down"]');
    await row.getByRole('button', { name: 'Choose' }).click();
    expect(await row.innerText()).toContain('Fault etcd-down');
    expect(await panel.locator('ul.faults').innerText()).not.toContain('Fault proxy-gone');
    await row.getByRole('button', { name: 'Break it' }).click();
    await expect.poll(() => panel.locator('[aria-label="symptom"]').innerText(), { timeout: 15_000 }).toBe('symptom of etcd-down');
    await panel.getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => panel.locator('[aria-label="fault check"]').innerText(), { timeout: 15_000 }).toMatch(/Still broken:\s*✗?\s*the cluster still misbehaves/);
    await panel.getByRole('button', { name: 'Hint' }).click();
    await expect.poll(() => panel.locator('ol.hints li').count(), { timeout: 15_000 }).toBe(1);
    await panel.getByRole('button', { name: 'Hint' }).click();
    await expect.poll(() => panel.locator('ol.hints li').count(), { timeout: 15_000 }).toBe(2);
    await page.reload();
    await expect.poll(() => page.locator('fault-panel [aria-label="symptom"]').innerText(), { timeout: 15_000 }).toBe('symptom of etcd-down');
    expect(await page.locator('fault-panel ol.hints').innerText()).toMatch(/Hint 1 of 2: etcd-down: look at the logs\s+Hint 2 of 2: etcd-down: the answer/);
    await page.screenshot({ path: `${ARTIFACTS}/fake-lab-fault.png` });
    await page.locator('fault-panel').getByRole('button', { name: 'Give up' }).click();
    const answer = page.locator('fault-panel [aria-label="answer"]');
    await expect.poll(() => answer.innerText(), { timeout: 15_000 }).toMatch(/The answer: Fault etcd-down[\s\S]*count inject-etcd-down[\s\S]*The fix:[\s\S]*set healthy/);
    await expect.poll(() => answer.locator('[aria-label="health"]').innerText(), { timeout: 15_000 }).toMatch(/healthy again/);
  });

  it('Surprise me keeps the fault hidden, until give-up names it', async () => {
    const panel = page.locator('fault-panel');
    await panel.locator('select[aria-label="component"]').selectOption('kube-proxy');
    await panel.getByRole('button', { name: 'Surprise me' }).click();
    await expect.poll(() => panel.locator('[aria-label="symptom"]').innerText(), { timeout: 15_000 }).toBe('symptom of proxy-gone');
    const shown = (await deepText(page, 'lab-app .middle')) + (await deepText(page, 'lab-app header'));
    expect(shown).toContain('A surprise fault');
    expect(shown).not.toMatch(/Fault proxy-gone|kube-proxy/);
    await panel.getByRole('button', { name: 'Give up' }).click();
    await expect.poll(() => panel.locator('[aria-label="answer"]').innerText(), { timeout: 15_000 }).toMatch(/The answer: Fault proxy-gone/);
  });

  it('a second job while one runs is refused in the server\'s words', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const headers = { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json', Origin: base };
    provider.slowFacts.set('healthy', 1_000_000);
    const first = await fetch(`${base}/api/heal`, { method: 'POST', headers, body: '{}' });
    expect(first.status).toBe(202);
    const second = await fetch(`${base}/api/lab/down`, { method: 'POST', headers, body: '{}' });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: string }).error).toMatch(/the lab is busy: "Healing the cluster" is still running/);
    provider.slowFacts.delete('healthy');
    await expect.poll(async () => ((await (await fetch(`${base}/api/job`, { headers })).json()) as { job: { state: string } }).job.state, { timeout: 10_000 }).not.toBe('running');
  });

  it('the lab panel removes the lab after a confirm, the start page comes back, and a new lab gets new shells', async () => {
    const jumpbox = () => page.locator('machine-terminal[machine="jumpbox"] .xterm-rows').innerText();
    // as a Run button types (the fake shell reads lines ending in \n; xterm's Enter sends \r)
    await page.locator('machine-terminal[machine="jumpbox"]').evaluate((terminal) => (terminal as unknown as { type(text: string): void }).type('echo before-removal\n'));
    await expect.poll(jumpbox).toMatch(/before-removal/);
    await page.getByRole('button', { name: 'Lab', exact: true }).click();
    await expect.poll(() => page.locator('lab-panel machine-states table').innerText(), { timeout: 15_000 }).toMatch(/server\s+running/);
    await page.getByRole('button', { name: 'Remove lab…' }).click();
    await page.locator('lab-panel [role="alertdialog"]').getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => page.locator('start-page h2').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.locator('machine-terminal').count()).toBe(0);
    await page.getByRole('button', { name: 'Start the lab here' }).click();
    await expect.poll(jumpbox).toContain('root@jumpbox');
    expect(await jumpbox()).not.toContain('before-removal');
  });
});

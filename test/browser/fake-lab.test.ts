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
 * their progress, second shells, the lab panel, break-and-fix with its hidden titles, and what survives a reload.
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

  it("a second-shell block's button opens a second terminal on its machine and types there, not into the first; a reload brings that shell back", async () => {
    const shellsOpenedOn = (machine: string) => provider.terminalLog.filter((t) => t.machine === machine).length;
    const screen = (shell: 1 | 2) => page.locator(`machine-terminal[machine="server"][shell="${shell}"] .xterm-rows`).innerText();
    const secondTab = page.getByRole('tab', { name: 'server ²' });
    await page.locator('chapter-list button', { hasText: 'Step b1' }).click();
    await page.getByRole('tab', { name: 'server', exact: true }).click();
    await expect.poll(() => screen(1), { timeout: 15_000 }).toContain('root@server');
    const opened = shellsOpenedOn('server');
    expect(await secondTab.count()).toBe(0);
    await page.locator('step-view .block', { hasText: 'echo watching-the-server' }).getByRole('button', { name: 'Run in second shell on server' }).click();
    await expect.poll(() => secondTab.getAttribute('aria-selected'), { timeout: 15_000 }).toBe('true');
    await expect.poll(() => screen(2), { timeout: 15_000 }).toMatch(/echo watching-the-server\s+root@server/);
    expect(shellsOpenedOn('server')).toBe(opened + 1);
    await page.screenshot({ path: `${ARTIFACTS}/fake-lab-second-shell.png` });
    // the first shell echoes in order: had it been given the block, its echo would come before this one
    await page.getByRole('tab', { name: 'server', exact: true }).click();
    await page.locator('machine-terminal[machine="server"][shell="1"]').evaluate((terminal) => (terminal as unknown as { type(text: string): void }).type('echo first-shell\n'));
    await expect.poll(() => screen(1), { timeout: 15_000 }).toContain('echo first-shell');
    expect(await screen(1)).not.toContain('watching-the-server');
    await page.reload();
    await secondTab.click();
    await expect.poll(() => screen(2), { timeout: 15_000 }).toContain('echo watching-the-server');
    expect(shellsOpenedOn('server')).toBe(opened + 1);
  });

  it('the + beside the tabs opens a second shell on the active machine', async () => {
    await page.getByRole('tab', { name: 'node-0', exact: true }).click();
    await page.getByRole('button', { name: 'second shell on node-0' }).click();
    await expect.poll(() => page.getByRole('tab', { name: 'node-0 ²' }).getAttribute('aria-selected'), { timeout: 15_000 }).toBe('true');
    await expect.poll(() => page.locator('machine-terminal[machine="node-0"][shell="2"] .xterm-rows').innerText(), { timeout: 15_000 }).toContain('root@node-0');
    expect(await page.getByRole('button', { name: 'second shell on node-0' }).count()).toBe(0);
    // xterm draws only a terminal on screen; the tests after this one read the jumpbox's
    await page.getByRole('tab', { name: 'jumpbox', exact: true }).click();
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

  it('the lab panel removes the lab after a confirm, the start page comes back, and a new lab gets new shells, without the second ones', async () => {
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
    expect(await page.getByRole('tab', { name: /²/ }).count()).toBe(0);
  });
});

import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DockerProvider } from '../../vm/docker-provider.ts';
import { startServer, type RunningServer } from '../../src/web/server.ts';
import { ensureUiBuilt } from '../../src/web/ui-build.ts';
import { ensureArtifacts } from '../helpers/artifacts.ts';
import { launchChromium, waitForScreen, typeInto } from '../helpers/browser.ts';
import { ensureEngine, realLab } from '../helpers/engine.ts';

const LAB = `it-ui-${process.pid.toString(36)}`;
const ARTIFACTS = 'test-results';

const sttySize = (text: string): string[] => [...text.matchAll(/^(\d+) (\d+)\s*$/gm)].map((m) => `${m[1]} ${m[2]}`);

describe('the browser lab', () => {
  const provider = new DockerProvider();
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const base = () => `http://127.0.0.1:${server.port}`;

  beforeAll(async () => {
    process.env.HARDWAY_STATE = `/tmp/hardway-ui-state-${process.pid}`;
    await ensureEngine();
    await ensureArtifacts();
    const engine = realLab(LAB, provider);
    await engine.up();
    server = await startServer({ engine, host: '127.0.0.1', port: 0, uiDir: await ensureUiBuilt() });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await provider.deleteLab(LAB);
  });

  it('refuses HTTP requests and WebSockets without the token', async () => {
    expect((await fetch(`${base()}/api/state`)).status).toBe(401);
    expect((await fetch(`${base()}/`)).status).toBe(401);
    expect((await fetch(`${base()}/api/state`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base()}/api/state`, { headers: { Authorization: `Bearer ${server.token}` } })).status).toBe(200);
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws/terminal?machine=server`);
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('open', () => resolve(101));
      socket.on('error', () => resolve(-1));
    });
    expect(refused).toBe(401);
    // API calls need the header: the cookie alone (what a foreign page on another port could make the browser send) is refused.
    expect((await fetch(`${base()}/api/state`, { headers: { Cookie: `${server.cookieName}=${server.token}` } })).status).toBe(401);
    const foreign = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws/terminal?machine=server&token=${server.token}`, { origin: 'http://127.0.0.1:1' });
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('open', () => resolve(101));
      socket.on('error', () => resolve(-1));
    });
    expect(foreign).toBe(403);
  });

  it('types hostname into the server terminal and sees server', async () => {
    await page.goto(server.url);
    await page.getByRole('tab', { name: 'server' }).click();
    // A shell opens where ssh would land: root's home (the prompt's ~), so the prose's relative paths work.
    await waitForScreen(page, 'server', (t) => t.includes('root@server:~#'), "a prompt in root's home");
    await typeInto(page, 'server', 'hostname; pwd');
    await waitForScreen(page, 'server', (t) => /^server\s*\n\/root\s*$/m.test(t), 'the output "server" and "/root"');
    await page.screenshot({ path: `${ARTIFACTS}/browser-lab-1280x800.png` });
  });

  it('follows the window size: stty size changes when the browser is resized', async () => {
    await typeInto(page, 'server', 'clear; stty size');
    const before = sttySize(await waitForScreen(page, 'server', (t) => sttySize(t).length > 0, 'a size'))[0]!;
    await page.setViewportSize({ width: 800, height: 900 });
    await page.waitForTimeout(500);
    await typeInto(page, 'server', 'clear; stty size');
    const after = sttySize(await waitForScreen(page, 'server', (t) => sttySize(t).some((s) => s !== before), 'a new size'))[0]!;
    expect(after).not.toBe(before);
    const [rows, columns] = after.split(' ').map(Number);
    expect(columns).toBeGreaterThan(40);
    expect(rows).toBeGreaterThan(10);
    await page.screenshot({ path: `${ARTIFACTS}/browser-lab-800.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('reconnects after a network blip to the same shell, keeping what it printed', async () => {
    await typeInto(page, 'server', 'clear; KEPT=across-the-blip; echo before-blip');
    await waitForScreen(page, 'server', (t) => /^before-blip/m.test(t), 'before-blip');
    await page.evaluate(() => {
      const terminal = document.querySelector('lab-app')!.shadowRoot!.querySelector('machine-terminal[machine="server"]') as unknown as { socket: { close(): void } };
      terminal.socket.close();
    });
    await page.waitForTimeout(1500);
    await typeInto(page, 'server', 'echo "$KEPT"');
    const text = await waitForScreen(page, 'server', (t) => /^across-the-blip/m.test(t), 'the variable set before the blip');
    expect(text).toMatch(/^before-blip/m);
  });

  it('Check on a step shows why it fails in plain words; Solve makes it pass', async () => {
    const check = page.getByRole('button', { name: 'Check' });
    await check.click();
    const status = page.locator('step-view [role="status"]');
    await expect.poll(() => status.innerText(), { timeout: 30_000 }).toMatch(/Not yet/);
    expect(await status.innerText()).toMatch(/machines\.txt/);
    await page.getByRole('button', { name: 'Hint' }).click();
    await expect.poll(() => status.innerText(), { timeout: 10_000 }).toMatch(/Hint 1 of \d/);
    await page.getByRole('button', { name: 'Solve' }).click();
    await expect.poll(() => status.innerText(), { timeout: 60_000 }).toMatch(/Passed/);
    await expect.poll(() => page.locator('chapter-list .count').first().innerText(), { timeout: 10_000 }).toBe('1/1');
    await page.screenshot({ path: `${ARTIFACTS}/browser-lab-checked.png` });
  });

  it('shows every component\'s log in one timeline that follows live and filters by component', async () => {
    const timeline = page.locator('log-timeline ol');
    await expect.poll(() => timeline.innerText(), { timeout: 30_000 }).toMatch(/jumpbox\s+docker-registry/);
    await page.locator('log-timeline select[aria-label="component"]').selectOption('docker-registry');
    await expect.poll(async () => (await timeline.locator('li').allInnerTexts()).length, { timeout: 20_000 }).toBeGreaterThan(0);
    const lines = await timeline.locator('li').allInnerTexts();
    expect(lines.every((line) => line.includes('docker-registry'))).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/browser-lab-timeline.png` });
  });

  it('explains a timeline line when clicked: its format\'s fields, and what the catalog knows of it', async () => {
    const timeline = page.locator('log-timeline ol');
    await page.locator('log-timeline select[aria-label="level"]').selectOption('warn');
    // docker-registry warns at start that it made up an upload secret: catalogued as this lab's noise.
    const noise = timeline.locator('li.noise', { hasText: 'No HTTP secret provided' }).first();
    await expect.poll(() => noise.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await noise.click();
    const explanation = noise.locator('.explain');
    await expect.poll(() => explanation.innerText(), { timeout: 5_000 }).toMatch(/logrus[\s\S]*level[\s\S]*Expected here: One registry serves the lab/);
    await page.screenshot({ path: `${ARTIFACTS}/browser-lab-explain.png` });
    // Clicking the line itself closes it (a click inside the explanation, to select its text, does not).
    await noise.locator('.time').click();
    expect(await noise.locator('.explain').count()).toBe(0);
  });

  it('a reload keeps working without the token in the URL: the API answers and the same shell comes back', async () => {
    await typeInto(page, 'server', 'clear; echo before-reload');
    await waitForScreen(page, 'server', (t) => /^before-reload/m.test(t), 'before-reload');
    expect(page.url()).not.toContain('token=');
    await page.reload();
    await page.getByRole('tab', { name: 'server' }).click();
    await waitForScreen(page, 'server', (t) => /^before-reload/m.test(t), 'what the shell printed before the reload');
    await expect.poll(() => page.locator('chapter-list .count').first().innerText(), { timeout: 10_000 }).toBe('1/1');
  });

  it('Run in terminal types a code block into the right machine', async () => {
    await page.locator('chapter-list summary', { hasText: 'Set up the jumpbox' }).click();
    await page.locator('chapter-list button', { hasText: 'Install kubectl' }).click();
    await page.locator('step-view .block', { hasText: 'kubectl version --client' }).first().getByRole('button', { name: /^Run on jumpbox$/ }).click();
    await waitForScreen(page, 'jumpbox', (t) => t.includes('kubectl version --client'), 'the typed command');
  });

  it("a block for the learner's own computer has no Run button, and says where it runs", async () => {
    await page.locator('chapter-list summary', { hasText: 'Clean up' }).click();
    await page.locator('chapter-list button', { hasText: "Delete the smoke test's objects" }).click();
    const block = page.locator('step-view .block', { hasText: 'lab down' }).first();
    await expect.poll(() => block.innerText(), { timeout: 5_000 }).toContain('on your own computer');
    expect(await block.getByRole('button', { name: /^Run on/ }).count()).toBe(0);
    expect(await page.locator('step-view .block', { hasText: 'kubectl delete deployment nginx' }).getByRole('button', { name: /^Run on jumpbox$/ }).count()).toBe(1);
  });
});

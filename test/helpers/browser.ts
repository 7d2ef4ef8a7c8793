import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { setupHost } from '../../src/host/setup.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Makes sure Debian's chromium is installed, the way `lab setup --dev` installs it. Never skips. */
export async function ensureChromium(): Promise<string> {
  if (!existsSync(CHROMIUM)) await setupHost({ dev: true });
  return CHROMIUM;
}

/** The flags every browser test launches Debian's chromium with (it must never download or phone home). */
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await ensureChromium(), args: CHROMIUM_FLAGS });
}

/** The visible text of one machine's terminal. */
export const screenOf = (page: Page, machine: string): Promise<string> => page.locator(`machine-terminal[machine="${machine}"] .xterm-rows`).innerText();

/** Waits until a machine's terminal shows what `test` looks for; fails with what it shows instead. */
export async function waitForScreen(page: Page, machine: string, test: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await screenOf(page, machine).catch(() => '');
    if (test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`${machine} terminal never showed ${what}; it shows:\n${text}`);
}

/** Types a line into a machine's terminal as a learner would, and presses Enter. */
export async function typeInto(page: Page, machine: string, line: string): Promise<void> {
  await page.locator(`machine-terminal[machine="${machine}"] .xterm-screen`).click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** The id of the job the page shows (0 when it shows none). */
async function shownJobId(page: Page): Promise<number> {
  const section = page.locator('job-progress section');
  return (await section.count()) > 0 ? Number(await section.first().getAttribute('data-job')) : 0;
}

/**
 * Starts a job from the page (`start` clicks its button) and waits until that job, not the one shown
 * before it, has ended; fails with the job's own words unless it is done.
 */
export async function runJob(page: Page, start: () => Promise<void>, timeoutMs: number): Promise<string> {
  const before = await shownJobId(page);
  await start();
  const section = page.locator('job-progress section');
  await expect.poll(async () => (await shownJobId(page)) > before && (await section.getAttribute('data-state')) !== 'running', { timeout: timeoutMs, interval: 500 }).toBe(true);
  const text = await section.innerText();
  if ((await section.getAttribute('data-state')) !== 'done') throw new Error(`the job failed:\n${text}`);
  return text;
}

/**
 * What a learner's token opens, tried from her own page, of another lab (`other`) and of the board:
 * the other lab's API, the board's API, a terminal WebSocket and the other lab's page.
 */
export function tryTokenElsewhere(page: Page, other: string, token: string): Promise<{ api: number; board: number; ws: string; page: number }> {
  return page.evaluate(
    async ({ other, token }) => {
      const api = await fetch(`/lab/${other}/api/state`, { headers: { Authorization: `Bearer ${token}` } });
      const boardState = await fetch('/board/api/state', { headers: { Authorization: `Bearer ${token}` } });
      const ws = await new Promise<string>((resolve) => {
        const socket = new WebSocket(`${location.origin.replace('http', 'ws')}/lab/${other}/ws/terminal?machine=jumpbox&client=x&token=${token}`);
        socket.onopen = () => resolve('open');
        socket.onerror = () => resolve('refused');
      });
      const page = await fetch(`/lab/${other}/`);
      return { api: api.status, board: boardState.status, ws, page: page.status };
    },
    { other, token },
  );
}

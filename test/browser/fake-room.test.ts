import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Room } from '../../src/room/room.ts';
import { startRoomServer, type RunningRoomServer } from '../../src/web/room-server.ts';
import { ensureUiBuilt } from '../../src/web/ui-build.ts';
import { launchChromium, tryTokenElsewhere } from '../helpers/browser.ts';
import { fakeRoom, GiB, labsSettled, type FakeRoomWorld } from '../helpers/fake-room.ts';

const ARTIFACTS = 'test-results';

/**
 * A room's pages on fake engines (seconds, no Docker): the board, three learners joining from their
 * own browser contexts onto two engines, a check, a fault broken for everyone and fixed by one, a
 * peek, a learner's token refused elsewhere, a server restart, the end of the room.
 */
describe('a room in the browser, on fake engines', () => {
  let world: FakeRoomWorld;
  let room: Room;
  let server: RunningRoomServer;
  let port = 0;
  let browser: Browser;
  let uiDir: string;
  let board: Page;
  const learners: { name: string; context: BrowserContext; page: Page; lab: string; token: string }[] = [];

  const start = async () => {
    ({ room } = await world.open());
    server = await startRoomServer({ room, host: '127.0.0.1', port, uiDir, log: () => {}, engineCheckMs: 500 });
    port = server.port;
  };

  beforeAll(async () => {
    world = fakeRoom({ prewarm: 2 }, [10 * GiB, 10 * GiB]);
    uiDir = await ensureUiBuilt();
    await start();
    await labsSettled(room);
    browser = await launchChromium();
    board = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const row = (name: string) => board.locator(`room-app tr[data-learner="${name}"]`);

  it('three learners join from their own browsers and land in their labs at the room\'s chapter, on both engines', async () => {
    await board.goto(server.boardUrl(world.instructorToken));
    const code = await board.locator('room-app [data-testid="join-code"]').innerText();
    expect(code).toBe(room.row.join_code);
    for (const name of ['Ann', 'Bob', 'Cy']) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator('room-app input[name="code"]').fill(code.toLowerCase());
      await page.locator('room-app input[name="name"]').fill(name);
      await page.locator('room-app button[type="submit"]').click();
      await page.waitForURL(/\/lab\/day-\d\/$/);
      const lab = new URL(page.url()).pathname.split('/')[2]!;
      const token = await page.locator('meta[name="hardway-token"]').getAttribute('content');
      learners.push({ name, context, page, lab, token: token! });
    }
    // Cy's lab was made on joining (two were pre-warmed): the page shows it being made, then the lab
    await expect.poll(() => learners[2]!.page.locator('machine-terminal[machine="jumpbox"] .xterm-rows').innerText(), { timeout: 15_000 }).toContain('root@jumpbox');
    for (const learner of learners) {
      await expect.poll(() => learner.page.locator('step-view h2, step-view .machine').first().innerText()).toMatch(/Chapter 2/);
    }
    await expect.poll(() => row('Cy').locator('.position').innerText()).toMatch(/^2 \/ Step b1/);
    const engines = await Promise.all(['Ann', 'Bob', 'Cy'].map((n) => row(n).locator('td').nth(2).innerText()));
    expect(new Set(engines).size).toBe(2);
    await board.screenshot({ path: `${ARTIFACTS}/room-board-joined.png` });
  });

  it('a learner passes a step and the board shows it', async () => {
    const ann = learners[0]!;
    const engine = world.engines.find((e) => e.provider.machines.has(ann.lab) && e.provider.machines.get(ann.lab)!.size > 0)!;
    engine.provider.factsOf(ann.lab).add('b1');
    await ann.page.locator('step-view').getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => row('Ann').locator('.checks').innerText()).toBe('1 passed');
    expect(await row('Ann').locator('.position').innerText()).toMatch(/Step b2/);
  });

  it('the instructor breaks a fault for everyone; learners see it on their pages; one fixes it; the board follows', async () => {
    for (const learner of learners) for (const engine of world.engines) engine.provider.factsOf(learner.lab).add('healthy');
    await board.locator('room-app select[name="fault"]').selectOption('etcd-down');
    await board.locator('room-app').getByRole('button', { name: 'Break for everyone' }).click();
    await expect.poll(() => board.locator('room-app div.notice').innerText()).toMatch(/Breaking for Ann, Bob, Cy/);
    for (const name of ['Ann', 'Bob', 'Cy']) await expect.poll(() => row(name).locator('td.fault').innerText()).toMatch(/^etcd-down/);
    const bob = learners[1]!;
    await expect.poll(() => bob.page.locator('fault-panel [aria-label="symptom"]').innerText(), { timeout: 10_000 }).toBe('symptom of etcd-down');
    // Bob fixes it (the fake cluster is healthy again) and checks
    for (const engine of world.engines) engine.provider.factsOf(bob.lab).add('healthy');
    await bob.page.locator('fault-panel').getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => row('Bob').locator('td.fault').innerText()).toBe('1 fixed');
    expect(await row('Ann').locator('td.fault').innerText()).toMatch(/^etcd-down/);
  });

  it('the instructor peeks at a terminal (read-only) and sends a message everyone sees', async () => {
    const cy = learners[2]!;
    const terminal = cy.page.locator('machine-terminal[machine="jumpbox"]');
    await terminal.evaluate((element) => (element as unknown as { type(text: string): void }).type('echo hello-from-cy\n'));
    await expect.poll(() => terminal.locator('.xterm-rows').innerText()).toContain('hello-from-cy');
    await row('Cy').getByRole('button', { name: 'Peek' }).click();
    await expect.poll(() => board.locator('room-peek .xterm-rows').innerText()).toContain('hello-from-cy');
    await board.locator('room-app input[name="message"]').fill('Coffee break until 10:45');
    await board.locator('room-app').getByRole('button', { name: 'Send to everyone' }).click();
    for (const learner of learners) await expect.poll(() => learner.page.locator('room-banner .note').last().innerText(), { timeout: 5000 }).toContain('Coffee break until 10:45');
    await board.screenshot({ path: `${ARTIFACTS}/room-board-peek.png` });
  });

  it("a learner's token is refused on another learner's terminal and API, and on the board", async () => {
    const [ann, bob] = learners as [typeof learners[0], typeof learners[0]];
    const result = await tryTokenElsewhere(ann.page, bob.lab, ann.token);
    expect(result).toEqual({ api: 401, board: 401, ws: 'refused', page: 401 });
  });

  it('the room server is killed and started again: learners and the board carry on', async () => {
    await server.close();
    room.store.db.close();
    await start();
    const ann = learners[0]!;
    await ann.page.goto(`http://127.0.0.1:${port}/lab/${ann.lab}/`, { waitUntil: 'commit', timeout: 10_000 });
    await expect.poll(() => ann.page.locator('machine-terminal[machine="jumpbox"] .xterm-rows').innerText({ timeout: 1000 }), { timeout: 15_000 }).toContain('root@jumpbox');
    // her progress is there: chapter 1 replayed, b1 passed; she is still on the fault the instructor broke
    await expect.poll(() => ann.page.locator('chapter-list .count').nth(1).innerText({ timeout: 1000 })).toBe('1/2');
    await expect.poll(() => ann.page.locator('fault-panel [aria-label="symptom"]').innerText({ timeout: 1000 })).toBe('symptom of etcd-down');
    await expect.poll(() => row('Ann').locator('.checks').innerText({ timeout: 1000 }), { timeout: 5000 }).toBe('1 passed');
    expect(await row('Bob').locator('td.fault').innerText({ timeout: 1000 })).toBe('1 fixed');
  });

  it('ending the room removes every lab on every engine', async () => {
    board.once('dialog', (dialog) => void dialog.accept());
    await board.locator('room-app').getByRole('button', { name: 'End the room' }).click();
    await expect.poll(() => board.locator('room-app div.notice').innerText(), { timeout: 10_000 }).toMatch(/The room has ended: 3 labs removed/);
    const machines = world.engines.reduce((n, e) => n + [...e.provider.machines.values()].reduce((m, lab) => m + lab.size, 0), 0);
    expect(machines).toBe(0);
    await expect.poll(() => learners[1]!.page.locator('room-banner .note.bad').innerText(), { timeout: 5000 }).toContain('The room has ended');
  });
});

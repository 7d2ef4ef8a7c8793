import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORTABLE_SNAPSHOT } from '../../src/engine/snapshots.ts';
import { LAB_LABEL, DockerProvider } from '../../vm/docker-provider.ts';
import { connectEngine } from '../../vm/engine.ts';
import { launchChromium, tryTokenElsewhere, typeInto, waitForScreen } from '../helpers/browser.ts';
import { lab } from '../helpers/cli.ts';
import { clusterSnapshot, ensureEngine } from '../helpers/engine.ts';
import { freePort } from '../helpers/processes.ts';
import { startSecondEngine, type SecondEngine } from '../helpers/second-engine.ts';

const ARTIFACTS = 'test-results';
const suffix = process.pid.toString(36).slice(-4);
const ROOM = `day-${suffix}`;
const CHAPTER = 14;

/**
 * The training day, end to end on real parts: `lab room create` and `lab room serve` (a process of
 * its own, killed with SIGKILL half-way), two Docker engines of this host (the main one and a second
 * dockerd the test starts, given the built cluster's snapshot beforehand), three learners in their
 * own browser contexts, real labs at chapter 14 (the built cluster), a fault the instructor breaks
 * for everyone and one learner fixes by hand.
 */
describe('a training day in the browser, on two real Docker engines', () => {
  const stateBefore = process.env.HARDWAY_STATE;
  const state = mkdtempSync(join(tmpdir(), 'hardway-day-'));
  const env = { ...process.env, HARDWAY_STATE: state };
  let second: SecondEngine;
  let local: Docker;
  let browser: Browser;
  let server: RoomServerProcess;
  let port = 0;
  let board: Page;
  let instructorToken = '';
  const learners: { name: string; context: BrowserContext; page: Page; lab: string; token: string }[] = [];

  const row = (name: string) => board.locator(`room-app tr[data-learner="${name}"]`);
  const base = () => `http://127.0.0.1:${port}`;
  const boardState = async (): Promise<BoardState> => {
    const response = await fetch(`${base()}/board/api/state`, { headers: { Authorization: `Bearer ${instructorToken}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as BoardState;
  };

  beforeAll(async () => {
    process.env.HARDWAY_STATE = state;
    await ensureEngine();
    local = connectEngine();
    second = await startSecondEngine({ subnetPrefix: '10.243' });
    console.log(`room test: the second dockerd answered ${second.startMs} ms after it was started`);
    // The instructor carries the built cluster's snapshot to the second engine, as `lab artifacts
    // bundle --snapshots` and `import` do, so that no engine replays the course (CI's minutes).
    let started = Date.now();
    const snapshot = await clusterSnapshot();
    console.log(`room test: the built cluster's snapshot on the main engine found or made in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const carried = mkdtempSync(join(tmpdir(), 'hardway-carry-'));
    try {
      started = Date.now();
      await new DockerProvider(local).exportSnapshot(snapshot.id, carried);
      await new DockerProvider(second.docker).importSnapshot(carried, IMPORTABLE_SNAPSHOT);
      console.log(`room test: snapshot ${snapshot.id} carried to the second engine in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      rmSync(carried, { recursive: true, force: true });
    }
    port = await freePort();
    const created = lab(['room', 'create', ROOM, '--chapter', String(CHAPTER), '--capacity', '3', '--prewarm', '3', '--duration', '2h', '--engine', 'local', '--engine', `${second.host}?subnet=${second.subnetPrefix}`], { HARDWAY_STATE: state });
    expect(created.code, created.stdout + created.stderr).toBe(0);
    server = await serveRoom(ROOM, port, env);
    instructorToken = new URL(server.boardUrl).searchParams.get('token')!;
    browser = await launchChromium();
    board = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 1_200_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill();
    // Whatever the room did not remove (a failed test ends before the room does).
    const provider = new DockerProvider();
    for (const { lab } of learners) await provider.deleteLab(lab).catch(() => undefined);
    const stopping = Date.now();
    await second?.stop();
    console.log(`room test: the second dockerd and all it held removed in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
    rmSync(state, { recursive: true, force: true });
    if (stateBefore === undefined) delete process.env.HARDWAY_STATE;
    else process.env.HARDWAY_STATE = stateBefore;
  }, 300_000);

  it("three learners join from their own browsers while the room pre-warms, watch their labs being made, and land at the room's chapter on both engines", async () => {
    await board.goto(server.boardUrl);
    const code = await board.locator('room-app [data-testid="join-code"]').innerText();
    for (const name of ['Ann', 'Bob', 'Cy']) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator('room-app input[name="code"]').fill(code);
      await page.locator('room-app input[name="name"]').fill(name);
      await page.locator('room-app button[type="submit"]').click();
      await page.waitForURL(new RegExp(`/lab/${ROOM}-\\d/$`));
      const lab = new URL(page.url()).pathname.split('/')[2]!;
      const token = await page.locator('meta[name="hardway-token"]').getAttribute('content');
      learners.push({ name, context, page, lab, token: token! });
    }
    // The pre-warmed labs are still being made: each page shows its lab's progress.
    for (const learner of learners) await expect.poll(() => learner.page.locator('job-progress section').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const started = Date.now();
    const ready = await waitForLabs(boardState, 600_000);
    console.log(`room test: three chapter-${CHAPTER} labs on two engines made in ${((Date.now() - started) / 1000).toFixed(1)} s after the last join`);
    for (const learner of learners) {
      await waitForScreen(learner.page, 'jumpbox', (text) => text.includes('root@jumpbox'), 'a root prompt', 60_000);
      await expect.poll(() => learner.page.locator('step-view .machine').innerText(), { timeout: 15_000 }).toMatch(new RegExp(`Chapter ${CHAPTER}`));
    }
    // Each lab runs whole on the engine the board names, and nothing of it is on the other one.
    const [localEngine, secondEngine] = ready.engines;
    const engineOf = new Map(ready.labs.map((l) => [l.name, l.engine]));
    expect(new Set(learners.map((l) => engineOf.get(l.lab)))).toEqual(new Set([localEngine!.id, secondEngine!.id]));
    for (const { lab } of learners) {
      const here = engineOf.get(lab) === localEngine!.id ? local : second.docker;
      const there = here === local ? second.docker : local;
      expect((await here.listContainers({ filters: { label: [`${LAB_LABEL}=${lab}`] } })).map((m) => m.State)).toEqual(['running', 'running', 'running', 'running']);
      expect(await there.listContainers({ all: true, filters: { label: [`${LAB_LABEL}=${lab}`] } })).toHaveLength(0);
    }
    const engines = await Promise.all(['Ann', 'Bob', 'Cy'].map((n) => row(n).locator('td').nth(2).innerText()));
    expect(new Set(engines).size).toBe(2);
    await board.screenshot({ path: `${ARTIFACTS}/day-board-joined.png` });
  }, 700_000);

  it('a learner does a step in her terminal, checks it, and the board shows it', async () => {
    const ann = learners[0]!;
    await typeInto(ann.page, 'jumpbox', 'kubectl create deployment web --image=nginx:latest --replicas=3 && kubectl rollout status deployment/web --timeout=180s && echo SCALED-$((6*7))');
    await waitForScreen(ann.page, 'jumpbox', (text) => text.includes('SCALED-42'), 'the rollout finishing', 200_000);
    // The rollout is complete once the ReplicaSet reports its 3 pods ready: one check is enough.
    await ann.page.locator('step-view').getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => row('Ann').locator('.checks').innerText(), { timeout: 30_000 }).toBe('1 passed');
    await expect.poll(() => row('Ann').locator('.position').innerText()).toMatch(/Delete a pod/);
  }, 300_000);

  it('the instructor breaks one fault for everyone; every page shows its symptom; one learner fixes it by hand; the board follows', async () => {
    await board.locator('room-app select[name="fault"]').selectOption('etcd-stopped');
    await board.locator('room-app').getByRole('button', { name: 'Break for everyone' }).click();
    await expect.poll(() => board.locator('room-app div.notice').innerText()).toMatch(/Breaking for Ann, Bob, Cy/);
    for (const name of ['Ann', 'Bob', 'Cy']) await expect.poll(() => row(name).locator('td.fault').innerText(), { timeout: 60_000 }).toMatch(/^etcd-stopped/);
    for (const learner of learners) await expect.poll(() => learner.page.locator('fault-panel [aria-label="symptom"]').innerText(), { timeout: 30_000 }).toMatch(/kubectl on the jumpbox errors or hangs/);
    const bob = learners[1]!;
    await typeInto(bob.page, 'jumpbox', 'ssh server systemctl start etcd && until kubectl get --raw /readyz >/dev/null 2>&1; do sleep 1; done; echo READY-$((40+2))');
    await waitForScreen(bob.page, 'jumpbox', (text) => text.includes('READY-42'), 'the API server ready again', 120_000);
    // As a learner would, Check again while the cluster comes back: after the API server returns, the
    // controller manager and the scheduler take a while to hold their leader leases again (each answer
    // says what is still wrong).
    const fixedBy = Date.now() + 180_000;
    for (;;) {
      const button = bob.page.locator('fault-panel').getByRole('button', { name: 'Check', exact: true });
      const [response] = await Promise.all([bob.page.waitForResponse((r) => r.url().endsWith('/api/fault/check') && r.request().method() === 'POST', { timeout: 90_000 }), button.click()]);
      const answer = (await response.json()) as { passed?: boolean; failures?: { message: string }[] };
      if (answer.passed) break;
      const said = (answer.failures ?? []).map((f) => f.message).join(' ');
      if (Date.now() > fixedBy) throw new Error(`Bob's fix was never graded fixed; the last check said: ${said}`);
      console.log(`room test: Bob's check said: ${said}`);
      await bob.page.waitForTimeout(5000);
    }
    await expect.poll(() => row('Bob').locator('td.fault').innerText(), { timeout: 10_000 }).toBe('1 fixed');
    expect(await row('Ann').locator('td.fault').innerText()).toMatch(/^etcd-stopped/);
    await board.screenshot({ path: `${ARTIFACTS}/day-board-fault.png` });
  }, 300_000);

  it("the instructor peeks at a learner's terminal, read-only", async () => {
    const cy = learners[2]!;
    await typeInto(cy.page, 'jumpbox', 'echo hello-from-$((100+1))');
    await waitForScreen(cy.page, 'jumpbox', (text) => text.includes('hello-from-101'), 'the echo');
    await row('Cy').getByRole('button', { name: 'Peek' }).click();
    await expect.poll(() => board.locator('room-peek .xterm-rows').innerText(), { timeout: 15_000 }).toContain('hello-from-101');
  }, 60_000);

  it("a learner's token is refused on another learner's terminal, API and page, and on the board", async () => {
    const [ann, bob] = learners as [(typeof learners)[0], (typeof learners)[0]];
    const result = await tryTokenElsewhere(ann.page, bob.lab, ann.token);
    expect(result).toEqual({ api: 401, board: 401, ws: 'refused', page: 401 });
  });

  it('the room server is killed and started again: terminals come back, progress and the board carry on', async () => {
    server.kill('SIGKILL');
    await server.exited;
    server = await serveRoom(ROOM, port, env);
    // Bob's page reconnects by itself to a new shell on his lab.
    const bob = learners[1]!;
    await expect.poll(() => bob.page.locator('machine-terminal[machine="jumpbox"] .status').innerText().catch(() => ''), { timeout: 30_000 }).toBe('');
    await typeInto(bob.page, 'jumpbox', 'echo back-after-$((1+1))');
    await waitForScreen(bob.page, 'jumpbox', (text) => text.includes('back-after-2'), 'a shell after the restart');
    // Ann reloads: her chapter, her passed step and her fault are all still hers.
    const ann = learners[0]!;
    await ann.page.reload();
    await waitForScreen(ann.page, 'jumpbox', (text) => text.includes('root@jumpbox'), 'a root prompt', 30_000);
    await expect.poll(() => ann.page.locator('fault-panel [aria-label="symptom"]').innerText()).toMatch(/kubectl on the jumpbox errors or hangs/);
    await expect.poll(() => ann.page.locator('chapter-list .count').nth(CHAPTER - 1).innerText()).toMatch(/^1\//);
    await board.reload();
    await expect.poll(() => row('Ann').locator('.checks').innerText(), { timeout: 10_000 }).toBe('1 passed');
    expect(await row('Bob').locator('td.fault').innerText()).toBe('1 fixed');
    expect(await row('Cy').locator('td.fault').innerText()).toMatch(/^etcd-stopped/);
  }, 120_000);

  it('ending the room from the board leaves no container, network or volume of it on either engine', async () => {
    board.once('dialog', (dialog) => void dialog.accept());
    await board.locator('room-app').getByRole('button', { name: 'End the room' }).click();
    await expect.poll(() => board.locator('room-app div.notice').innerText(), { timeout: 120_000 }).toMatch(/The room has ended: 3 labs removed/);
    for (const docker of [local, second.docker]) {
      for (const { lab } of learners) {
        const filters = { label: [`${LAB_LABEL}=${lab}`] };
        expect(await docker.listContainers({ all: true, filters })).toHaveLength(0);
        expect(await docker.listNetworks({ filters })).toHaveLength(0);
        expect((await docker.listVolumes({ filters })).Volumes ?? []).toHaveLength(0);
      }
    }
    await expect.poll(() => learners[2]!.page.locator('room-banner .note.bad').innerText(), { timeout: 10_000 }).toContain('The room has ended');
  }, 180_000);
});

interface BoardState {
  engines: { id: number; spec: string; state: string; labs: number }[];
  labs: { name: string; engine: number; state: string; error: string | null }[];
}

/** Waits until no lab of the room is being made; fails with a lab's own error if one failed. */
async function waitForLabs(state: () => Promise<BoardState>, timeoutMs: number): Promise<BoardState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await state();
    const failed = now.labs.find((l) => l.state === 'failed');
    if (failed) throw new Error(`lab ${failed.name} failed: ${failed.error}`);
    if (now.labs.length > 0 && now.labs.every((l) => l.state === 'ready')) return now;
    if (Date.now() > deadline) throw new Error(`the labs were not made in time: ${JSON.stringify(now.labs)}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

interface RoomServerProcess {
  url: string;
  boardUrl: string;
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

/** `lab room serve` in a process of its own, once it says where learners and the instructor go. */
async function serveRoom(name: string, port: number, env: NodeJS.ProcessEnv): Promise<RoomServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['bin/lab.js', 'room', 'serve', name, '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const seen = new Promise<{ url: string; boardUrl: string }>((resolve, reject) => {
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /Learners open:\s+(\S+)/.exec(output)?.[1];
      const boardUrl = /The board:\s+(\S+)/.exec(output)?.[1];
      if (url && boardUrl) resolve({ url, boardUrl });
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stderr.write(`room server: ${chunk.toString()}`);
    });
    void exited.then(() => reject(new Error(`lab room serve exited:\n${output}`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    return { ...(await seen), exited, kill: (signal = 'SIGTERM') => void child.kill(signal) };
  } finally {
    clearTimeout(timeout);
  }
}

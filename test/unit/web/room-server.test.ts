import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Room } from '../../../src/room/room.ts';
import { DEFAULT_LIMITS, type Limits } from '../../../src/web/limits.ts';
import { startRoomServer, type RunningRoomServer } from '../../../src/web/room-server.ts';
import { CLOSE_LIMITED } from '../../../src/web/terminals.ts';
import { fakeRoom, labsSettled, type FakeRoomWorld } from '../../helpers/fake-room.ts';

const running: { server: RunningRoomServer; room: Room }[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const { server, room } of running.splice(0)) {
    await server.close();
    room.store.db.close();
  }
});

function uiDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hardway-room-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'room.html'), '<!doctype html><html><head><title>room</title></head><body>join</body></html>');
  writeFileSync(join(dir, 'room-lab.html'), '<!doctype html><html><head><title>lab</title></head><body>the lab</body></html>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log("app")');
  return dir;
}

async function serve(world: FakeRoomWorld = fakeRoom({ prewarm: 2 }), limits: Limits = DEFAULT_LIMITS) {
  const { room } = await world.open();
  await labsSettled(room);
  const server = await startRoomServer({ room, host: '127.0.0.1', port: 0, uiDir: uiDir(), log: () => {}, limits });
  running.push({ server, room });
  const origin = `http://127.0.0.1:${server.port}`;
  const base = origin;
  const call = (path: string, init: { method?: string; token?: string; body?: unknown; origin?: string | null; raw?: string } = {}) =>
    fetch(`${base}${path}`, {
      method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
      headers: {
        ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
        ...(init.origin === null ? {} : { Origin: init.origin ?? origin }),
        'Content-Type': 'application/json',
      },
      body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
    });
  const join = async (name: string) => {
    const response = await call('/room/api/join', { body: { code: room.row.join_code, name } });
    expect(response.status).toBe(200);
    return (await response.json()) as { token: string; lab: string; url: string };
  };
  return { world, room, server, origin, call, join };
}

function socket(url: string, origin: string) {
  const ws = new WebSocket(url, { origin });
  sockets.push(ws);
  let screen = '';
  ws.on('message', (data, isBinary) => {
    if (isBinary) screen += data.toString();
  });
  ws.on('error', () => {});
  const opened = new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const waitFor = async (text: string): Promise<void> => {
    const deadline = Date.now() + 3000;
    while (!screen.includes(text)) {
      if (Date.now() > deadline) throw new Error(`never showed ${JSON.stringify(text)}; shows ${JSON.stringify(screen)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { ws, opened, closed, waitFor, screen: () => screen };
}

describe('lab room serve: who reaches what', () => {
  it('a join needs the room page\'s Origin and the code; it answers a token and the lab\'s address', async () => {
    const { call, room, join } = await serve();
    expect((await call('/room/api/join', { body: { code: room.row.join_code, name: 'Eve' }, origin: null })).status).toBe(403);
    expect((await call('/room/api/join', { body: { code: room.row.join_code, name: 'Eve' }, origin: 'http://evil.example' })).status).toBe(403);
    expect((await call('/room/api/join', { body: { code: 'NOPE12', name: 'Eve' } })).status).toBe(403);
    const ann = await join('Ann');
    expect(ann.lab).toBe('day-1');
    expect(ann.url).toBe(`/lab/day-1/?token=${ann.token}`);
  });

  it("a learner's token opens their own lab's page and API, not another learner's, and not the board", async () => {
    const { call, join, world } = await serve();
    const ann = await join('Ann');
    const bob = await join('Bob');
    expect((await call(`/lab/${ann.lab}/api/state`, { token: ann.token })).status).toBe(200);
    expect((await call(`/lab/${bob.lab}/api/state`, { token: ann.token })).status).toBe(401);
    expect((await call(`/lab/${bob.lab}/api/check`, { token: ann.token, body: { chapter: 2, step: 'b1' } })).status).toBe(401);
    expect((await call(`/lab/${bob.lab}/api/state`, { token: world.instructorToken })).status).toBe(401);
    expect((await call('/board/api/state', { token: ann.token })).status).toBe(401);
    expect((await call('/board/api/break', { token: ann.token, body: { learners: 'all' } })).status).toBe(401);
    const page = await call(`/lab/${ann.lab}/?token=${ann.token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`<meta name="hardway-token" content="${ann.token}">`);
    expect((await call(`/lab/${bob.lab}/?token=${ann.token}`)).status).toBe(401);
    // assets are the same for everyone
    expect((await call(`/lab/${ann.lab}/assets/app.js`)).status).toBe(200);
    expect((await call('/assets/../room.html')).status).not.toBe(500);
  });

  it("terminals: a learner's own opens; another learner's is refused; the instructor's peek sees the shell and cannot type into it", async () => {
    const { server, origin, join, world } = await serve();
    const ann = await join('Ann');
    const bob = await join('Bob');
    const ws = (lab: string, token: string) => `ws://127.0.0.1:${server.port}/lab/${lab}/ws/terminal?machine=jumpbox&client=t1&token=${token}`;
    expect(await socket(ws(bob.lab, ann.token), origin).opened).toBe(401);
    expect(await socket(ws(ann.lab, ann.token), 'http://evil.example').opened).toBe(403);
    const shell = socket(ws(ann.lab, ann.token), origin);
    expect(await shell.opened).toBe(101);
    await shell.waitFor('root@jumpbox:~# ');
    shell.ws.send(Buffer.from('echo secret-of-ann\n'));
    await shell.waitFor('secret-of-ann');

    const peekUrl = (token: string) => `ws://127.0.0.1:${server.port}/board/ws/peek?learner=1&machine=jumpbox&token=${token}`;
    expect(await socket(peekUrl(ann.token), origin).opened).toBe(401);
    expect(await socket(peekUrl(bob.token), origin).opened).toBe(401);
    const peek = socket(peekUrl(world.instructorToken), origin);
    expect(await peek.opened).toBe(101);
    await peek.waitFor('secret-of-ann');
    peek.ws.send(Buffer.from('echo typed-by-peeker\n'));
    shell.ws.send(Buffer.from('echo after\n'));
    await shell.waitFor('after');
    await peek.waitFor('after');
    expect(shell.screen()).not.toContain('typed-by-peeker');
  });

  it('the board: learners live, break for everyone, a message reaches learners, CSV export; bad input is answered, not fatal', async () => {
    const { call, join, world, room } = await serve();
    const ann = await join('Ann');
    await join('Bob');
    const token = world.instructorToken;
    const board = async () => (await (await call('/board/api/state', { token })).json()) as { learners: { name: string; checksPassed: number; fault: { id: string } | null }[]; engines: { state: string }[] };
    expect((await board()).learners.map((l) => l.name)).toEqual(['Ann', 'Bob']);
    world.engines[0]!.provider.factsOf('day-1').add('b1');
    world.engines[1]!.provider.factsOf('day-1').add('b1');
    const checked = await call(`/lab/${ann.lab}/api/check`, { token: ann.token, body: { chapter: 2, step: 'b1' } });
    expect(await checked.json()).toMatchObject({ passed: true });
    expect((await board()).learners[0]!.checksPassed).toBe(1);

    for (const engine of world.engines) for (const lab of ['day-1', 'day-2']) engine.provider.factsOf(lab).add('healthy');
    const broke = await call('/board/api/break', { token, body: { learners: 'all', id: 'proxy-gone' } });
    expect(await broke.json()).toEqual({ started: ['Ann', 'Bob'], refused: [] });
    await Promise.all([...room.labs.values()].map((r) => r.api.jobs.settled()));
    expect((await board()).learners.map((l) => l.fault?.id)).toEqual(['proxy-gone', 'proxy-gone']);

    expect((await call('/board/api/message', { token, body: { text: 'Lunch at 12:30' } })).status).toBe(200);
    const notices = (await (await call('/room/api/notices', { token: ann.token })).json()) as { messages: { text: string }[] };
    expect(notices.messages.map((m) => m.text)).toEqual(['Lunch at 12:30']);
    expect((await call('/room/api/notices', { token })).status).toBe(401);

    const csv = await call('/board/api/export?format=csv', { token });
    expect(await csv.text()).toMatch(/^name,lab,.*,active_fault,passed_at_1\/a1,.*,passed_at_3\/c2\nAnn,day-1,.*,proxy-gone,\d{4}-[^\n]*\nBob,day-2,.*,proxy-gone,\d{4}-[^\n]*\n$/);

    expect((await call('/board/api/break', { token, raw: '{not json' })).status).toBe(400);
    expect((await call('/board/api/break', { token, body: { learners: 'some' } })).status).toBe(400);
    expect((await call('/board/api/reset', { token, body: { learner: 99, chapter: 1 } })).status).toBe(400);
    expect((await call('/board/api/message', { token, raw: JSON.stringify({ text: 'x'.repeat(100_000) }) })).status).toBe(413);
    expect((await call('/room/api/join', { raw: '[]' })).status).toBe(400);
    expect((await call('/board/api/state', { token })).status).toBe(200);
  });

  it('limits are per learner: one hammering the logs or opening terminals is refused (429, a closed socket); another is not', async () => {
    const limits = { ...DEFAULT_LIMITS, reads: { rate: { burst: 2, perMinute: 2 }, inFlight: 4 }, terminals: { rate: { burst: 10, perMinute: 10 }, open: 1 } };
    const { call, join, server, origin } = await serve(fakeRoom({ prewarm: 2 }), limits);
    const ann = await join('Ann');
    const bob = await join('Bob');
    const logs = (who: { lab: string; token: string }) => call(`/lab/${who.lab}/api/logs`, { token: who.token });
    expect([(await logs(ann)).status, (await logs(ann)).status]).toEqual([200, 200]);
    const refused = await logs(ann);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(refused.headers.get('referrer-policy')).toBe('no-referrer');
    expect(((await refused.json()) as { error: string }).error).toMatch(/^too many log, trace, map and health reads \(this one: \/api\/logs\): .*try again in 30 s$/);
    expect((await logs(bob)).status).toBe(200);
    expect((await call(`/lab/${ann.lab}/api/state`, { token: ann.token })).status).toBe(200);

    const ws = (who: { lab: string; token: string }, client: string) => `ws://127.0.0.1:${server.port}/lab/${who.lab}/ws/terminal?machine=jumpbox&client=${client}&token=${who.token}`;
    const first = socket(ws(ann, 't1'), origin);
    await first.waitFor('root@jumpbox:~# ');
    expect((await socket(ws(ann, 't2'), origin).closed).code).toBe(CLOSE_LIMITED);
    await socket(ws(bob, 't1'), origin).waitFor('root@jumpbox:~# ');
  });

  it('killed and started again: the same tokens open the same labs; the board has the same history', async () => {
    const world = fakeRoom({ prewarm: 1 });
    const first = await serve(world);
    const ann = await first.join('Ann');
    await first.call(`/lab/${ann.lab}/api/hint`, { token: ann.token, body: { chapter: 2, step: 'b1' } });
    const { server, room } = running.pop()!;
    await server.close();
    room.store.db.close();

    const second = await serve(world);
    expect((await second.call(`/lab/${ann.lab}/api/state`, { token: ann.token })).status).toBe(200);
    const board = (await (await second.call('/board/api/state', { token: world.instructorToken })).json()) as { learners: { name: string; hintsUsed: number }[] };
    expect(board.learners).toMatchObject([{ name: 'Ann', hintsUsed: 1 }]);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer, type ServeOptions } from '../../../src/web/server.ts';
import { DEFAULT_LIMITS, type Limits } from '../../../src/web/limits.ts';
import { CLOSE_LIMITED, CLOSE_REPLACED, CLOSE_SHELL_ENDED, CLOSE_TERMINAL_LOST } from '../../../src/web/terminals.ts';
import type { Machine, Terminal } from '../../../vm/provider.ts';
import { fakeLab } from '../../helpers/fake-course.ts';
import { FakeProvider } from '../../helpers/fake-provider.ts';

/** The fake provider, keeping each terminal it opens so a test can break its stream, and able to fail on demand. */
class TappedProvider extends FakeProvider {
  readonly terminals: Terminal[] = [];
  listFails = false;
  /** How long each list takes: an /api/state that is slow to answer. */
  listDelayMs = 0;

  override async terminal(lab: string, name: string, command: string[], size: { columns: number; rows: number }): Promise<Terminal> {
    const terminal = await super.terminal(lab, name, command, size);
    this.terminals.push(terminal);
    return terminal;
  }

  override async list(lab?: string): Promise<Machine[]> {
    if (this.listFails) throw new Error('the list broke');
    if (this.listDelayMs) await pause(this.listDelayMs);
    return super.list(lab);
  }
}

const running: RunningServer[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function serve(extra: Partial<ServeOptions> = {}) {
  const provider = new TappedProvider();
  const { engine } = fakeLab(undefined, provider);
  provider.seed(engine.lab);
  const uiDir = mkdtempSync(join(tmpdir(), 'hardway-ui-'));
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><html><head><title>lab</title></head><body>the lab</body></html>');
  writeFileSync(join(uiDir, 'app.js'), 'console.log("app")');
  const server = await startServer({ engine, host: '127.0.0.1', port: 0, uiDir, log: () => {}, ...extra });
  running.push(server);
  const origin = `http://127.0.0.1:${server.port}`;
  const auth = { Authorization: `Bearer ${server.token}` };
  return { server, provider, engine, origin, auth };
}

/** A terminal socket, collecting what the shell prints. */
function terminal(server: RunningServer, params: Record<string, string>, options: { origin?: string; autoPong?: boolean; token?: string | null } = {}) {
  const query = new URLSearchParams({ machine: 'server', client: 'tab-1', ...params });
  const token = options.token === undefined ? server.token : options.token;
  if (token) query.set('token', token);
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/terminal?${query}`, {
    origin: options.origin === undefined ? `http://127.0.0.1:${server.port}` : options.origin || undefined,
    autoPong: options.autoPong ?? true,
  });
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
  const waitFor = async (text: string, ms = 3000): Promise<string> => {
    const deadline = Date.now() + ms;
    while (!screen.includes(text)) {
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${JSON.stringify(text)}; it shows ${JSON.stringify(screen)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return screen;
  };
  return { ws, opened, closed, waitFor, screen: () => screen, type: (line: string) => ws.send(Buffer.from(`${line}\n`)) };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lab serve: who may drive it', () => {
  it('refuses a WebSocket from a foreign origin (another port of the same host), or without an Origin', async () => {
    const { server } = await serve();
    const foreign = terminal(server, {}, { origin: 'http://127.0.0.1:8000' });
    expect(await foreign.opened).toBe(403);
    const none = terminal(server, {}, { origin: '' });
    expect(await none.opened).toBe(403);
    const rebound = terminal(server, {}, { origin: `http://evil.example:${server.port}` });
    expect(await rebound.opened).toBe(403);
    const own = terminal(server, {});
    expect(await own.opened).toBe(101);
    await own.waitFor('root@server:~# ');
    const alias = terminal(server, { client: 'tab-2' }, { origin: `http://localhost:${server.port}` });
    expect(await alias.opened).toBe(403); // the Host is 127.0.0.1, so the page's origin is too
  });

  it('refuses a WebSocket without the token, or with the cookie only', async () => {
    const { server } = await serve();
    expect(await terminal(server, {}, { token: null }).opened).toBe(401);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/terminal?machine=server`, { origin: `http://127.0.0.1:${server.port}`, headers: { Cookie: `${server.cookieName}=${server.token}` } });
    sockets.push(ws);
    ws.on('error', () => {});
    expect(await new Promise((resolve) => ws.once('unexpected-response', (_q, r) => resolve(r.statusCode)))).toBe(401);
  });

  it('refuses a state-changing request from a foreign origin or without Origin; the page\'s own origin works', async () => {
    const { server, origin, auth } = await serve();
    const post = (headers: Record<string, string>) =>
      fetch(`${origin}/api/hint`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth, ...headers }, body: JSON.stringify({ chapter: 1, step: 'a1' }) });
    const foreign = await post({ Origin: 'http://127.0.0.1:8000' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toMatch(/127\.0\.0\.1:8000/);
    expect((await post({})).status).toBe(403);
    expect((await post({ Origin: 'null' })).status).toBe(403);
    const own = await post({ Origin: origin });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ text: 'a1: first hint' });
    // A GET from a foreign page is refused too, even with the token.
    expect((await fetch(`${origin}/api/state`, { headers: { ...auth, Origin: 'http://127.0.0.1:8000' } })).status).toBe(403);
    expect(server.port).toBeGreaterThan(0);
  });

  it('refuses a request to another host name (DNS rebinding) when it listens on loopback', async () => {
    const { server, auth } = await serve();
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port: server.port, path: '/api/state', headers: { ...auth, Host: `rebound.example:${server.port}` } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    expect(status).toBe(403);
  });

  it('on a wildcard address, the allowed origin is the one the client reached it by', async () => {
    const { server } = await serve({ host: '0.0.0.0' });
    const post = (origin: string) => fetch(`http://127.0.0.1:${server.port}/api/hint`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}`, Origin: origin }, body: '{"chapter":1,"step":"a1"}' });
    expect((await post(`http://127.0.0.1:${server.port}`)).status).toBe(200);
    expect((await post('http://127.0.0.1:8000')).status).toBe(403);
    expect(await terminal(server, {}, { origin: 'http://127.0.0.1:8000' }).opened).toBe(403);
  });

  it('API calls need the token in a header: the cookie alone and the query are refused', async () => {
    const { server, origin, auth } = await serve();
    const cookie = { Cookie: `${server.cookieName}=${server.token}` };
    const cookieOnly = await fetch(`${origin}/api/state`, { headers: cookie });
    expect(cookieOnly.status).toBe(401);
    expect(((await cookieOnly.json()) as { error: string }).error).toMatch(/Authorization: Bearer/);
    expect((await fetch(`${origin}/api/state?token=${server.token}`)).status).toBe(401);
    expect((await fetch(`${origin}/api/state`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const state = await fetch(`${origin}/api/state`, { headers: auth });
    expect(state.status).toBe(200);
    expect(await state.json()).toMatchObject({ lab: 'unit', currentChapter: 1 });
    const cookiePost = await fetch(`${origin}/api/solve`, { method: 'POST', headers: { ...cookie, Origin: origin, 'Content-Type': 'text/plain' }, body: '{"chapter":1,"step":"a1"}' });
    expect(cookiePost.status).toBe(401);
  });

  it('the page loads with ?token= or the cookie, leaves a cookie named by port, and hands its scripts the token', async () => {
    const { server, origin } = await serve();
    expect((await fetch(`${origin}/`)).status).toBe(401);
    const first = await fetch(`${origin}/?token=${server.token}`);
    expect(first.status).toBe(200);
    expect(server.cookieName).toBe(`hardway_token_${server.port}`);
    expect(first.headers.get('set-cookie')).toMatch(new RegExp(`^${server.cookieName}=${server.token}; HttpOnly; SameSite=Strict`));
    expect(first.headers.get('x-frame-options')).toBe('DENY');
    const reloaded = await fetch(`${origin}/`, { headers: { Cookie: `${server.cookieName}=${server.token}` } });
    expect(reloaded.status).toBe(200);
    expect(await reloaded.text()).toContain(`<meta name="hardway-token" content="${server.token}">`);
    const script = await fetch(`${origin}/app.js`, { headers: { Cookie: `${server.cookieName}=${server.token}` } });
    expect(await script.text()).toBe('console.log("app")');
    expect((await fetch(`${origin}/../../etc/passwd`, { headers: { Cookie: `${server.cookieName}=${server.token}` } })).status).toBe(404);
  });

  it('two servers on different ports have different cookies, and one\'s cookie does not open the other', async () => {
    const a = await serve();
    const b = await serve();
    expect(a.server.cookieName).not.toBe(b.server.cookieName);
    const withCookieOfA = await fetch(`${b.origin}/`, { headers: { Cookie: `${a.server.cookieName}=${a.server.token}` } });
    expect(withCookieOfA.status).toBe(401);
    // Both cookies side by side (as a browser holds them for 127.0.0.1): each server finds its own.
    const both = `${a.server.cookieName}=${a.server.token}; ${b.server.cookieName}=${b.server.token}`;
    expect((await fetch(`${a.origin}/`, { headers: { Cookie: both } })).status).toBe(200);
    expect((await fetch(`${b.origin}/`, { headers: { Cookie: both } })).status).toBe(200);
  });
});

describe('lab serve: bad input never takes it down', () => {
  it('a malformed text frame is ignored: the shell and the server carry on', async () => {
    const { server, origin, auth } = await serve();
    const shell = terminal(server, {});
    await shell.waitFor('root@server:~# ');
    shell.ws.send('this is not JSON {');
    shell.ws.send('null');
    shell.ws.send(JSON.stringify({ type: 'resize', columns: 'wide', rows: -1 }));
    shell.ws.send(JSON.stringify({ type: 'resize', columns: 120, rows: 40 }));
    shell.type('echo still-here');
    await shell.waitFor('still-here\r\n');
    expect((await fetch(`${origin}/api/state`, { headers: auth })).status).toBe(200);
  });

  it('a frame that is not valid UTF-8 closes that socket only', async () => {
    const { server, origin, auth } = await serve();
    const shell = terminal(server, {});
    await shell.waitFor('root@server:~# ');
    // A text frame with invalid UTF-8, sent raw (the ws client would refuse to build it).
    const socket = (shell.ws as unknown as { _socket: { write(b: Buffer): void } })._socket;
    socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe]));
    const closed = await shell.closed;
    expect(closed.code).toBe(1007);
    expect((await fetch(`${origin}/api/state`, { headers: auth })).status).toBe(200);
  });

  it('a bad JSON body is a 400 with a message, a huge one a 413, a non-JSON one a 415; the server answers afterwards', async () => {
    const { origin, auth } = await serve({ maxBodyBytes: 1024 });
    const post = (body: string, type = 'application/json') => fetch(`${origin}/api/check`, { method: 'POST', headers: { ...auth, Origin: origin, 'Content-Type': type }, body });
    const bad = await post('{"chapter": 1,');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/not valid JSON/);
    expect((await post('null')).status).toBe(400);
    expect((await post('[1,2]')).status).toBe(400);
    const huge = await post(JSON.stringify({ chapter: 1, step: 'x'.repeat(10_000) }));
    expect(huge.status).toBe(413);
    expect((await post('{"chapter":1,"step":"a1"}', 'text/plain')).status).toBe(415);
    const check = await post('{"chapter":1,"step":"a1"}');
    expect(check.status).toBe(200);
    expect(await check.json()).toMatchObject({ passed: false });
  });

  it('a huge body sent without a length (chunked) is cut off with 413', async () => {
    const { server, auth, origin } = await serve({ maxBodyBytes: 1024 });
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port: server.port, path: '/api/check', method: 'POST', headers: { ...auth, Origin: origin, 'Content-Type': 'application/json' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      for (let i = 0; i < 20; i++) request.write('x'.repeat(1000));
      request.end();
    });
    expect(status).toBe(413);
    expect((await fetch(`${origin}/api/state`, { headers: auth })).status).toBe(200);
  });

  it('an exception inside an API handler is a 500 in JSON, and the server keeps answering', async () => {
    const { origin, auth, provider } = await serve();
    provider.listFails = true;
    const failed = await fetch(`${origin}/api/state`, { headers: auth });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: 'the server failed: the list broke' });
    provider.listFails = false;
    expect((await fetch(`${origin}/api/state`, { headers: auth })).status).toBe(200);
  });

  it('a terminal whose stream breaks (dockerd restarting, lab down) closes its socket with the reason; the server answers', async () => {
    const { server, origin, auth, provider } = await serve();
    const shell = terminal(server, {});
    await shell.waitFor('root@server:~# ');
    provider.terminals[0]!.stream.destroy(new Error('connect ECONNREFUSED /var/run/docker.sock'));
    const closed = await shell.closed;
    expect(closed.code).toBe(CLOSE_TERMINAL_LOST);
    expect(closed.reason).toMatch(/terminal lost: connect ECONNREFUSED/);
    expect((await fetch(`${origin}/api/state`, { headers: auth })).status).toBe(200);
    // The next connection gets a new shell.
    const again = terminal(server, {});
    await again.waitFor('root@server:~# ');
    expect(provider.terminals).toHaveLength(2);
  });

  it('a terminal on a machine that is gone is refused with the reason', async () => {
    const { server, engine, provider, origin, auth } = await serve();
    await provider.deleteLab(engine.lab);
    const shell = terminal(server, {});
    const closed = await shell.closed;
    expect(closed.code).toBe(CLOSE_TERMINAL_LOST);
    expect(closed.reason).toMatch(/no terminal on server: .*no such container/);
    const unknown = terminal(server, { machine: 'node-9' });
    expect((await unknown.closed).code).toBe(1008);
    expect((await fetch(`${origin}/api/state`, { headers: auth })).status).toBe(200);
  });
});

describe('lab serve: one page cannot use the machines up', () => {
  const limits = (change: Partial<Limits>): Limits => ({ ...DEFAULT_LIMITS, ...change });

  it('a burst of log reads past the limit is answered 429 with Retry-After and what was limited; other routes still answer', async () => {
    const { origin, auth } = await serve({ limits: limits({ reads: { rate: { burst: 3, perMinute: 6 }, inFlight: 4 } }) });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await fetch(`${origin}/api/logs`, { headers: auth }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    const refused = answers[3]!;
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await refused.json()).toEqual({ error: 'too many log, trace, map and health reads (this one: /api/logs): each learner may make 6 a minute (3 at once); try again in 10 s', next: expect.stringMatching(/Retry-After/) });
    expect((await fetch(`${origin}/api/map`, { headers: auth })).status).toBe(429);
    expect((await fetch(`${origin}/api/state`, { headers: auth })).status).toBe(200);
  });

  it('calls past the in-flight limit are refused while the others are unanswered, and admitted once they are', async () => {
    const { origin, auth, provider } = await serve({ limits: limits({ calls: { rate: { burst: 100, perMinute: 100 }, inFlight: 2 } }) });
    provider.listDelayMs = 300;
    const statuses = await Promise.all([0, 1, 2].map(async (i) => {
      await pause(i * 20);
      return (await fetch(`${origin}/api/state`, { headers: auth })).status;
    }));
    expect(statuses).toEqual([200, 200, 429]);
    provider.listDelayMs = 0;
    expect((await fetch(`${origin}/api/state`, { headers: auth })).status).toBe(200);
  });

  it('a terminal past the open limit is closed with the reason, no shell opened; closing one lets the next open', async () => {
    const { server, provider } = await serve({ limits: limits({ terminals: { rate: { burst: 10, perMinute: 10 }, open: 1 } }) });
    const first = terminal(server, { client: 'tab-1' });
    await first.waitFor('root@server:~# ');
    const second = terminal(server, { client: 'tab-2' });
    expect(await second.closed).toEqual({ code: CLOSE_LIMITED, reason: 'too many terminals open: at most 1 per learner; close one (or a tab), then try again in 5 s' });
    expect(provider.terminals).toHaveLength(1);
    first.ws.close();
    await first.closed;
    await pause(20);
    const third = terminal(server, { client: 'tab-3' });
    await third.waitFor('root@server:~# ');
  });
});

describe('lab serve: terminals', () => {
  it('a reconnect with the same client id gets the backlog; the old socket\'s late close does not detach the new one', async () => {
    const { server } = await serve({ orphanMs: 100 });
    const first = terminal(server, {});
    await first.waitFor('root@server:~# ');
    first.type('echo before');
    const seen = Buffer.byteLength(await first.waitFor('before\r\nroot@server:~# '));
    // The client thinks the connection dropped and reconnects, saying how much it saw; the old socket is still open.
    const second = terminal(server, { seen: String(seen - 'root@server:~# '.length) });
    await second.waitFor('root@server:~# ');
    expect(second.screen()).toBe('root@server:~# ');
    const old = await first.closed;
    expect(old.code).toBe(CLOSE_REPLACED);
    // The old socket has closed (after the new one attached); the new one keeps the shell past the orphan time.
    await pause(250);
    second.type('echo after');
    await second.waitFor('after\r\nroot@server:~# ');
    expect(second.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a second tab with the same client id takes the shell over; the first is told why', async () => {
    const { server } = await serve();
    const first = terminal(server, {});
    await first.waitFor('root@server:~# ');
    first.type('echo one');
    await first.waitFor('one\r\n');
    const second = terminal(server, {});
    await second.waitFor('one\r\nroot@server:~# ');
    const closed = await first.closed;
    expect(closed).toEqual({ code: CLOSE_REPLACED, reason: expect.stringMatching(/another connection/) as unknown as string });
    second.type('echo two');
    await second.waitFor('two\r\n');
    expect(first.screen()).not.toContain('two');
  });

  it('a socket that closes leaves the shell waiting for the client, which gets what it missed', async () => {
    const { server, provider } = await serve();
    const first = terminal(server, {});
    await first.waitFor('root@server:~# ');
    first.type('export KEPT=1');
    const seen = Buffer.byteLength(await first.waitFor('KEPT=1\r\nroot@server:~# '));
    first.ws.close();
    await first.closed;
    const second = terminal(server, { seen: String(seen) });
    await second.opened;
    second.type('echo back');
    await second.waitFor('back\r\nroot@server:~# ');
    expect(second.screen()).toBe('echo back\r\nroot@server:~# ');
    expect(provider.terminals).toHaveLength(1);
  });

  it('a shell that exits closes its socket as "shell ended"', async () => {
    const { server } = await serve();
    const shell = terminal(server, {});
    await shell.waitFor('root@server:~# ');
    shell.type('exit');
    const closed = await shell.closed;
    expect(closed.code).toBe(CLOSE_SHELL_ENDED);
    expect(closed.reason).toMatch(/^shell ended/);
  });

  it('an orphaned shell is closed after a while; the next connection gets a new one', async () => {
    const { server, provider } = await serve({ orphanMs: 50 });
    const first = terminal(server, {});
    await first.waitFor('root@server:~# ');
    first.ws.close();
    await first.closed;
    await pause(150);
    const second = terminal(server, { seen: '1000' });
    await second.waitFor('root@server:~# ');
    expect(provider.terminals).toHaveLength(2);
  });

  it('ping/pong drops a client that stopped answering and keeps one that answers', async () => {
    const { server } = await serve({ heartbeatMs: 30 });
    const dead = terminal(server, { client: 'dead' }, { autoPong: false });
    const live = terminal(server, { client: 'live' });
    await dead.waitFor('root@server:~# ');
    await live.waitFor('root@server:~# ');
    const closed = await Promise.race([dead.closed, pause(1000).then(() => null)]);
    expect(closed?.code).toBe(1006);
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    live.type('echo alive');
    await live.waitFor('alive\r\n');
  });

  it('keystrokes sent before the shell is attached are not lost', async () => {
    const { server } = await serve();
    const shell = terminal(server, {});
    await shell.opened;
    shell.type('echo early');
    await shell.waitFor('early\r\n');
  });
});

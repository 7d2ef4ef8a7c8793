import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { findMachine } from '../lab/topology.ts';
import { JoinRefused, type LabRuntime, type Room } from '../room/room.ts';
import { LabError } from '../util/errors.ts';
import { HttpError, SAFETY_HEADERS as BASE_HEADERS, bearerOf, bracketed, cookieOf, isLoopback, listen, parseUrl, readJson as readJsonUpTo, refuseUpgrade, sendJson as sendJsonWith, serveFile as serveFileWith } from './http.ts';
import { DEFAULT_LIMITS, LearnerLimits, sendRefusal, type Limits } from './limits.ts';
import { MAX_FRAME_BYTES, refuseLimited, sendBounded, serveTerminalSocket, startHeartbeat } from './terminal-socket.ts';

export interface RoomServeOptions {
  room: Room;
  host: string;
  port: number;
  uiDir: string;
  /** HTTPS with this key and certificate (PEM); without it, plain HTTP (only sensible on loopback). */
  tls?: { key: string; cert: string };
  heartbeatMs?: number;
  /** How often engines are asked how they are. */
  engineCheckMs?: number;
  log?: (line: string) => void;
  /** How much each learner (their token) may ask at once and how often (DEFAULT_LIMITS). */
  limits?: Limits;
}

export interface RunningRoomServer {
  /** Where learners go. */
  url: string;
  /** The instructor's board, with the token. */
  boardUrl: (token: string) => string;
  port: number;
  cookieName: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
/** The room's pages also keep their URLs (which carry tokens) out of Referer headers. */
const SAFETY_HEADERS = { ...BASE_HEADERS, 'Referrer-Policy': 'no-referrer' };
const LAB_PATH = /^\/lab\/([a-z0-9-]{1,31})(\/.*)$/;

export { isLoopback };

/**
 * One server for a whole room: the join page, each learner's lab (the same page and API as
 * `lab serve`, under /lab/<name>/, reachable only with that learner's token), and the instructor's
 * board (its own token). Every change and every WebSocket must come from the room's own pages.
 */
export async function startRoomServer(options: RoomServeOptions): Promise<RunningRoomServer> {
  const { room } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const scheme = options.tls ? 'https' : 'http';
  let cookieName = 'hardway_room';
  let allowedHosts: Set<string> | null = null;
  const limits = new LearnerLimits(options.limits ?? DEFAULT_LIMITS);
  const keyOf = (learner: { id: number }): string => `learner-${learner.id}`;

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    handle(request, response).catch((error: unknown) => {
      try {
        fail(response, error);
      } catch {
        response.destroy();
      }
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);

  function fail(response: ServerResponse, error: unknown): void {
    if (error instanceof HttpError) return sendJson(response, error.status, { error: error.message });
    if (error instanceof JoinRefused) return sendJson(response, error.status, { error: error.message });
    if (error instanceof LabError) return sendJson(response, 400, { error: error.message, ...(error.next ? { next: error.next } : {}) });
    log(`lab room serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (response.headersSent) return void response.destroy();
    sendJson(response, 500, { error: `the server failed: ${error instanceof Error ? error.message : String(error)}` });
  }

  /** null when the request may go on, else why not (403). */
  function originRefusal(request: IncomingMessage, required: boolean): string | null {
    const host = (request.headers.host ?? '').toLowerCase();
    if (allowedHosts && !allowedHosts.has(host)) return `this room does not answer to the name ${host || '(no Host header)'}: open the address the instructor gave`;
    const origin = request.headers.origin;
    if (origin === undefined) return required ? "a request that changes something must come from the room's own page (no Origin header)" : null;
    if (origin.toLowerCase() !== `${scheme}://${host}`) return `requests from ${origin} are not allowed: only the room's own pages may drive it`;
    return null;
  }


  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = parseUrl(request.url);
    const method = request.method ?? 'GET';
    const reading = method === 'GET' || method === 'HEAD';
    const refusal = originRefusal(request, !reading);
    if (refusal) return sendJson(response, 403, { error: refusal });
    const path = url.pathname;

    // The built UI's scripts and styles are the same for everyone and hold no secret.
    const asset = path.match(/^(?:\/lab\/[a-z0-9-]{1,31})?(\/assets\/[^/]+)$/);
    if (asset && reading) return serveFile(asset[1]!, response);
    if ((path === '/' || path === '/board' || path === '/board/') && reading) return serveFile('/room.html', response);

    if (path.startsWith('/room/api/')) return roomApi(request, response, method, path, url);
    if (path.startsWith('/board/api/')) return boardApi(request, response, method, path, url);

    const lab = path.match(LAB_PATH);
    if (lab) {
      const [, name, rest] = lab as unknown as [string, string, string];
      if (rest.startsWith('/api/')) {
        const access = room.labFor(bearerOf(request), name);
        if (!access) return sendJson(response, 401, { error: 'this lab needs its learner\'s token (in an Authorization: Bearer header)' });
        const admission = limits.admitCall(keyOf(access.learner), rest);
        if (!admission.ok) return sendRefusal(response, admission.refusal, SAFETY_HEADERS);
        try {
          const body = reading ? {} : await readJson(request);
          const answer = await room.learnerCall(access.learner, access.runtime, method, rest, url.searchParams, body);
          return sendJson(response, answer.status, answer.body);
        } finally {
          admission.release();
        }
      }
      if (rest === '/' && reading) {
        const token = url.searchParams.get('token') ?? cookieOf(request, cookieName);
        const access = room.labFor(token, name);
        if (!access) return sendJson(response, 401, { error: 'this lab belongs to another learner, or your token is wrong: join the room from its first page' });
        // The page's assets come from the same folder; the cookie lets a reload find the lab without the URL's token.
        response.setHeader('Set-Cookie', `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/lab/${name}/${options.tls ? '; Secure' : ''}`);
        return serveFile('/room-lab.html', response, token!);
      }
    }
    return sendJson(response, 404, { error: `no ${method} ${path}` });
  }

  async function roomApi(request: IncomingMessage, response: ServerResponse, method: string, path: string, url: URL): Promise<void> {
    if (path === '/room/api/info' && method === 'GET') {
      const row = room.row;
      return sendJson(response, 200, { name: row.name, chapter: row.chapter, ended: room.ended, endsAt: row.ends_at });
    }
    if (path === '/room/api/join' && method === 'POST') {
      const body = await readJson(request);
      const joined = room.join(String(body.code ?? ''), String(body.name ?? ''), request.socket.remoteAddress ?? 'unknown');
      return sendJson(response, 200, { token: joined.token, name: joined.learner.name, lab: joined.lab.name, url: `/lab/${joined.lab.name}/?token=${joined.token}` });
    }
    if (path === '/room/api/notices' && method === 'GET') {
      const learner = room.learnerOf(bearerOf(request));
      if (!learner) return sendJson(response, 401, { error: 'notices are for the room\'s learners: send your token' });
      const admission = limits.admitCall(keyOf(learner), path);
      if (!admission.ok) return sendRefusal(response, admission.refusal, SAFETY_HEADERS);
      admission.release(); // answered at once, from memory and the store
      const after = Number(url.searchParams.get('after')) || 0;
      const lab = learner.lab_id ? room.store.labById(learner.lab_id) : undefined;
      const runtime = lab ? room.labs.get(lab.name) : undefined;
      return sendJson(response, 200, {
        messages: room.store.messages(room.row.id, after).map((m) => ({ id: m.id, at: m.at, text: m.text })),
        ended: room.ended,
        endsAt: room.row.ends_at,
        // Changes when the lab's job or fault changes, so the page reloads its state.
        labVersion: runtime ? `${runtime.api.jobs.view()?.id ?? 0}:${runtime.api.jobs.view()?.state ?? ''}:${runtime.lab.activeFault()?.fault.id ?? ''}` : '',
        engineUp: runtime ? room.engineUp(runtime.engine.id) : false,
      });
    }
    return sendJson(response, 404, { error: `no ${method} ${path}` });
  }

  async function boardApi(request: IncomingMessage, response: ServerResponse, method: string, path: string, url: URL): Promise<void> {
    if (!room.isInstructor(bearerOf(request))) return sendJson(response, 401, { error: "the board needs the instructor's token (in an Authorization: Bearer header)" });
    if (method === 'GET') {
      if (path === '/board/api/state') {
        const row = room.row;
        return sendJson(response, 200, {
          room: { name: row.name, chapter: row.chapter, capacity: row.capacity, prewarm: row.prewarm, joinCode: row.join_code, endsAt: row.ends_at, ended: room.ended },
          engines: room.engineLoads(),
          labs: room.store.labs(row.id).map((l) => ({ name: l.name, state: l.state, engine: l.engine_id, error: l.error, taken: !!room.store.learnerOfLab(l.id) })),
          learners: room.learnerViews(),
          faults: room.course.faults.map((f) => ({ id: f.id, title: f.title, component: f.component, difficulty: f.difficulty })),
          chapters: room.course.chapters.map((c) => ({ number: c.number, title: c.title })),
          messages: room.store.messages(row.id).slice(-20),
        });
      }
      if (path === '/board/api/export') {
        if (url.searchParams.get('format') === 'csv') {
          response.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${room.row.name}.csv"`, ...SAFETY_HEADERS });
          return void response.end(room.exportCsv());
        }
        return sendJson(response, 200, room.exportRecord());
      }
    }
    if (method === 'POST') {
      const body = await readJson(request);
      if (path === '/board/api/break') {
        const who = body.learners === 'all' ? 'all' : Array.isArray(body.learners) && body.learners.every((n) => Number.isInteger(n)) ? (body.learners as number[]) : null;
        if (!who) throw new HttpError(400, '"learners" is "all" or a list of learner ids');
        if (body.id !== undefined && typeof body.id !== 'string') throw new HttpError(400, '"id" is a fault id; leave it out for a random fault each');
        return sendJson(response, 200, room.breakFor(who, { id: (body.id as string | undefined) || undefined }));
      }
      if (path === '/board/api/reset') {
        if (!Number.isInteger(body.learner)) throw new HttpError(400, '"learner" is a learner id');
        const answer = await room.resetLearner(body.learner as number, body.chapter as number);
        return sendJson(response, answer.status, answer.body);
      }
      if (path === '/board/api/message') {
        room.message(String(body.text ?? ''));
        return sendJson(response, 200, { sent: true });
      }
      if (path === '/board/api/extend') {
        room.extend(Number(body.minutes));
        return sendJson(response, 200, { endsAt: room.row.ends_at });
      }
      if (path === '/board/api/end') {
        await room.end();
        return sendJson(response, 200, { ended: true, labs: room.store.labs(room.row.id, { removed: true }).map((l) => ({ name: l.name, state: l.state, error: l.error })) });
      }
    }
    return sendJson(response, 404, { error: `no ${method} ${path}` });
  }

  const serveFile = (pathname: string, response: ServerResponse, token?: string): Promise<void> => serveFileWith(response, options.uiDir, pathname, { headers: SAFETY_HEADERS, token });

  // --- WebSockets: a learner's terminals, the instructor's peek ------------------------------------

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const heartbeat = startHeartbeat(sockets, options.heartbeatMs ?? 20_000);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const url = parseUrl(request.url);
      const refusal = originRefusal(request, true);
      if (refusal) return refuseUpgrade(socket, 403, refusal);
      const token = url.searchParams.get('token');
      const lab = url.pathname.match(LAB_PATH);
      if (lab && lab[2] === '/ws/terminal') {
        const access = room.labFor(token, lab[1]!);
        if (!access) return refuseUpgrade(socket, 401, "this terminal needs its learner's token");
        if (!room.engineUp(access.runtime.engine.id)) return refuseUpgrade(socket, 503, 'the engine of this lab is not answering');
        room.store.touchLearner(access.learner.id);
        return sockets.handleUpgrade(request, socket, head, (ws) => {
          const admission = limits.admitTerminal(keyOf(access.learner));
          if (!admission.ok) return refuseLimited(ws, admission.refusal);
          ws.once('close', admission.release);
          void serveTerminalSocket(ws, url, access.runtime.terminals, { heartbeat });
        });
      }
      if (url.pathname === '/board/ws/peek') {
        if (!room.isInstructor(token)) return refuseUpgrade(socket, 401, "a peek needs the instructor's token");
        let runtime: LabRuntime;
        try {
          runtime = room.peekOf(Number(url.searchParams.get('learner')));
        } catch (error) {
          return refuseUpgrade(socket, 404, (error as Error).message);
        }
        const machine = url.searchParams.get('machine') ?? '';
        if (!findMachine(machine)) return refuseUpgrade(socket, 404, `no machine ${machine}`);
        return sockets.handleUpgrade(request, socket, head, (ws) => openPeek(ws, runtime, machine));
      }
      return refuseUpgrade(socket, 404, `no ${url.pathname}`);
    } catch (error) {
      log(`lab room serve: upgrade: ${(error as Error).message}`);
      refuseUpgrade(socket, 500, 'the server failed');
    }
  });

  /** Read-only: what the learner's shells on the machine print, never a keystroke from the peeker. */
  function openPeek(ws: WebSocket, runtime: LabRuntime, machine: string): void {
    heartbeat.watch(ws);
    const stop = runtime.peek.watch(machine, (data) => sendBounded(ws, data));
    ws.on('message', () => undefined);
    ws.on('close', stop);
  }

  const engineCheck = setInterval(() => void room.refreshEngines().catch((error: unknown) => log(`lab room serve: engines: ${(error as Error).message}`)), options.engineCheckMs ?? 10_000);
  engineCheck.unref();

  await listen(server, options.port, options.host);
  server.on('error', (error) => log(`lab room serve: ${error.message}`));
  server.on('tlsClientError', () => undefined);
  const { port } = server.address() as AddressInfo;
  cookieName = `hardway_room_${port}`;
  // Bound to loopback, only loopback names on this port (a DNS-rebound name is refused); elsewhere, the Host the client used.
  if (isLoopback(options.host)) allowedHosts = new Set([options.host, '127.0.0.1', 'localhost', '::1'].map((h) => `${bracketed(h)}:${port}`));
  const base = `${scheme}://${bracketed(options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host)}:${port}`;
  return {
    url: `${base}/`,
    boardUrl: (token) => `${base}/board?token=${token}`,
    port,
    cookieName,
    close: async () => {
      heartbeat.stop();
      clearInterval(engineCheck);
      await room.close();
      for (const client of sockets.clients) client.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

const sendJson = (response: ServerResponse, status: number, body: object): void => sendJsonWith(response, status, body, SAFETY_HEADERS);
const readJson = (request: IncomingMessage): Promise<Record<string, unknown>> => readJsonUpTo(request, { limit: MAX_BODY_BYTES });

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { LabEngine } from '../engine/lab.ts';
import { LabApi } from './api.ts';
import { DEFAULT_LIMITS, LearnerLimits, sendRefusal, type Limits } from './limits.ts';
import { HttpError, bearerOf, bracketed, cookieOf, isLoopback, listen, parseUrl, readJson, refuseUpgrade, sendJson, serveFile } from './http.ts';
import { MAX_FRAME_BYTES, refuseLimited, serveTerminalSocket, startHeartbeat } from './terminal-socket.ts';
import { TerminalRegistry } from './terminals.ts';

export interface ServeOptions {
  engine: LabEngine;
  host: string;
  port: number;
  /** The built UI (index.html and its assets). */
  uiDir: string;
  /** How often terminal sockets are pinged; one that has not answered the previous ping is dropped. */
  heartbeatMs?: number;
  /** The largest request body accepted (413 beyond). */
  maxBodyBytes?: number;
  /** How long a shell waits for its browser to come back before it is closed. */
  orphanMs?: number;
  /** Where unexpected errors are reported (the server answers 500 and carries on). */
  log?: (line: string) => void;
  /** How much the page (its token) may ask at once and how often (DEFAULT_LIMITS). */
  limits?: Limits;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  /** The cookie that carries the token for the page and its assets; its name includes the port. */
  cookieName: string;
  close(): Promise<void>;
}

const HEARTBEAT_MS = 20_000;
/** The key of the one token lab serve has, in its limits. */
const LEARNER = 'learner';
const MAX_BODY_BYTES = 256 * 1024;
/**
 * Which browser origins may drive the server. Bound to loopback, exactly the loopback names on its
 * own port (so a page on another port of 127.0.0.1 is foreign, and a DNS-rebound name is refused).
 * Bound to a wildcard or another address, the origin the client used to reach it: `http://` + Host.
 */
function originPolicy(bindHost: string, port: number): (request: IncomingMessage) => { hostOk: boolean; origin: string | null } {
  if (isLoopback(bindHost)) {
    const hosts = new Set([bindHost, '127.0.0.1', 'localhost', '::1'].map((h) => `${bracketed(h)}:${port}`));
    return (request) => {
      const host = (request.headers.host ?? '').toLowerCase();
      return { hostOk: hosts.has(host), origin: hosts.has(host) ? `http://${host}` : null };
    };
  }
  return (request) => {
    const host = request.headers.host;
    return { hostOk: true, origin: host ? `http://${host.toLowerCase()}` : null };
  };
}

/** One server for the browser lab: the built UI, the engine's API and the machines' terminals, all behind a token. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = randomBytes(24).toString('hex');
  const { engine } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const terminals = new TerminalRegistry(engine.provider, engine.lab, options.orphanMs);
  const api = new LabApi(engine);
  const limits = new LearnerLimits(options.limits ?? DEFAULT_LIMITS);
  // Known once listening (the port may be chosen by the system).
  let cookieName = 'hardway_token';
  let policy: ReturnType<typeof originPolicy> = () => ({ hostOk: false, origin: null });

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      try {
        fail(response, error);
      } catch {
        response.destroy();
      }
    });
  });

  function fail(response: ServerResponse, error: unknown): void {
    if (error instanceof HttpError) {
      if (error.status === 413) response.setHeader('Connection', 'close');
      return sendJson(response, error.status, { error: error.message });
    }
    log(`lab serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    sendJson(response, 500, { error: `the server failed: ${error instanceof Error ? error.message : String(error)}` });
  }

  const matches = (given: string | null | undefined): boolean => {
    const a = Buffer.from(given ?? '');
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  /** null when the request may go on, else why not (403). A browser sends Origin on every POST and WebSocket. */
  function originRefusal(request: IncomingMessage, required: boolean): string | null {
    const { hostOk, origin: expected } = policy(request);
    if (!hostOk) return `this lab does not answer to the name ${request.headers.host ?? '(no Host header)'}: open it at the address lab serve printed`;
    const origin = request.headers.origin;
    if (origin === undefined) return required ? 'a request that changes the lab must come from the lab\'s own page (no Origin header)' : null;
    if (origin.toLowerCase() !== expected) return `requests from ${origin} are not allowed: only the lab's own page may drive it`;
    return null;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = parseUrl(request.url);
    const method = request.method ?? 'GET';
    const reading = method === 'GET' || method === 'HEAD';
    const isApi = url.pathname.startsWith('/api/');
    // API calls carry the token in a header: a foreign page can make the browser send the cookie, never a header.
    const authorized = isApi ? matches(bearerOf(request)) : matches(url.searchParams.get('token')) || matches(bearerOf(request)) || matches(cookieOf(request, cookieName));
    if (!authorized) {
      const why = isApi && matches(cookieOf(request, cookieName)) ? 'API calls need the token in an Authorization: Bearer header' : 'this lab needs its token: open the URL that lab serve printed';
      return sendJson(response, 401, { error: why });
    }
    const refusal = originRefusal(request, !reading);
    if (refusal) return sendJson(response, 403, { error: refusal });
    if (isApi) {
      // One token is the whole server here: the limits keep a runaway script from starving the page and the machines.
      const admission = limits.admitCall(LEARNER, url.pathname);
      if (!admission.ok) return sendRefusal(response, admission.refusal);
      try {
        const body = reading ? {} : await readJson(request, { limit: maxBody, parseDetail: true });
        const answer = await api.handle(method, url.pathname, url.searchParams, body);
        return sendJson(response, answer.status, answer.body);
      } finally {
        admission.release();
      }
    }
    if (!reading) return sendJson(response, 405, { error: `${method} is not allowed on ${url.pathname}` });
    // Scripts and styles the page loads cannot carry a header, so the page's load leaves a cookie (named by port,
    // so two lab servers on one host do not overwrite each other's).
    response.setHeader('Set-Cookie', `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    // The page's scripts need the token for their API calls even after a reload has dropped it from the URL.
    // Only the page itself can read it: other origins cannot read this response.
    return serveFile(response, options.uiDir, url.pathname, { index: '/index.html', token });
  }

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const heartbeat = startHeartbeat(sockets, options.heartbeatMs ?? HEARTBEAT_MS);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the raw socket over without an error listener: a client that resets now must not end the process.
    socket.on('error', () => socket.destroy());
    try {
      const url = parseUrl(request.url);
      if (url.pathname !== '/ws/terminal') return refuseUpgrade(socket, 404, `no ${url.pathname}`);
      // Browsers cannot set headers on a WebSocket, so its token comes in the query; the Origin check below keeps other pages out.
      if (!matches(url.searchParams.get('token')) && !matches(bearerOf(request))) return refuseUpgrade(socket, 401, 'this lab needs its token: open the URL that lab serve printed');
      const refusal = originRefusal(request, true);
      if (refusal) return refuseUpgrade(socket, 403, refusal);
      sockets.handleUpgrade(request, socket, head, (ws) => {
        // Counted once the socket is open (an upgrade that fails holds nothing), refused on it so the page can show why.
        const admission = limits.admitTerminal(LEARNER);
        if (!admission.ok) return refuseLimited(ws, admission.refusal);
        ws.once('close', admission.release);
        void serveTerminalSocket(ws, url, terminals, {
          heartbeat,
          onError: (error) => log(`lab serve: terminal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
        });
      });
    } catch (error) {
      log(`lab serve: upgrade: ${error instanceof Error ? error.message : String(error)}`);
      refuseUpgrade(socket, 500, 'the server failed');
    }
  });

  await listen(server, options.port, options.host);
  // After listening, errors on the server itself are reported, not thrown.
  server.on('error', (error) => log(`lab serve: ${error.message}`));
  const { port } = server.address() as AddressInfo;
  cookieName = `hardway_token_${port}`;
  policy = originPolicy(options.host, port);
  return {
    url: `http://${bracketed(options.host)}:${port}/?token=${token}`,
    port,
    token,
    cookieName,
    close: async () => {
      heartbeat.stop();
      terminals.closeAll(1001, 'the lab server stopped');
      for (const client of sockets.clients) client.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

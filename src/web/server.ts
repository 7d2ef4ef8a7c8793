import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LabEngine } from '../engine/lab.ts';
import { LabApi } from './api.ts';
import { findMachine } from '../lab/topology.ts';
import { TerminalRegistry } from './terminals.ts';

export interface ServeOptions {
  engine: LabEngine;
  host: string;
  port: number;
  /** The built UI (index.html and its assets). */
  uiDir: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const COOKIE = 'hardway_token';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

/** One server for the browser lab: the built UI, the engine's API and the machines' terminals, all behind a token. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = randomBytes(24).toString('hex');
  const { engine } = options;
  const terminals = new TerminalRegistry(engine.provider, engine.lab);
  const api = new LabApi(engine);
  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => sendJson(response, 500, { error: error instanceof Error ? error.message : String(error) }));
  });

  const tokenOf = (request: IncomingMessage): string | null => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const bearer = request.headers.authorization?.replace(/^Bearer /, '');
    const cookie = (request.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith(`${COOKIE}=`))?.slice(COOKIE.length + 1);
    return url.searchParams.get('token') ?? bearer ?? cookie ?? null;
  };
  const authorized = (request: IncomingMessage): boolean => {
    const given = Buffer.from(tokenOf(request) ?? '');
    const expected = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!authorized(request)) {
      sendJson(response, 401, { error: 'this lab needs its token: open the URL that lab serve printed' });
      return;
    }
    // Scripts and styles the page loads cannot carry a header, so the page's first load leaves a cookie.
    response.setHeader('Set-Cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/api/')) {
      const body = request.method === 'POST' ? await readJson(request) : {};
      const answer = await api.handle(request.method ?? 'GET', url.pathname, url.searchParams, body);
      return sendJson(response, answer.status, answer.body);
    }
    return serveStatic(url.pathname, response);
  }

  function serveStatic(pathname: string, response: ServerResponse): void {
    const relative = normalize(pathname === '/' ? '/index.html' : pathname).replace(/^(\.\.[/\\])+/, '');
    const file = join(options.uiDir, relative);
    if (!file.startsWith(options.uiDir) || !existsSync(file) || !statSync(file).isFile()) {
      sendJson(response, 404, { error: `no ${pathname}` });
      return;
    }
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
    response.end(readFileSync(file));
  }

  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!authorized(request) || url.pathname !== '/ws/terminal') {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => void attachTerminal(ws, url).catch(() => ws.close(1011, 'terminal failed')));
  });

  async function attachTerminal(ws: WebSocket, url: URL): Promise<void> {
    const machine = url.searchParams.get('machine') ?? '';
    if (!findMachine(machine)) return ws.close(1008, `no machine ${machine}`);
    const columns = Number(url.searchParams.get('cols')) || 80;
    const rows = Number(url.searchParams.get('rows')) || 24;
    const session = await terminals.open(url.searchParams.get('client') ?? 'anonymous', machine, columns, rows);
    await session.resize(columns, rows).catch(() => undefined);
    session.attach((data) => ws.readyState === ws.OPEN && ws.send(data, { binary: true }), Number(url.searchParams.get('seen')) || 0);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return session.write(data as Buffer);
      const message = JSON.parse(data.toString()) as { type: string; columns?: number; rows?: number };
      if (message.type === 'resize' && message.columns && message.rows) void session.resize(message.columns, message.rows).catch(() => undefined);
    });
    ws.on('close', () => session.detach());
  }

  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      terminals.closeAll();
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

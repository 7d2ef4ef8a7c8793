import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { findMachine } from '../lab/topology.ts';
import type { Refusal } from './limits.ts';
import { CLOSE_LIMITED, CLOSE_TERMINAL_LOST, closeReason, type Attachment, type TerminalRegistry, type TerminalSession } from './terminals.ts';

/** The terminal WebSocket both web servers (`lab serve`, `lab room serve`) speak, and the heartbeat that drops dead sockets. */

/** A terminal frame is keystrokes or a paste; nothing legitimate comes near this (the servers' `maxPayload`). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Output queued for a client that does not read it; beyond this the socket is dropped (it reconnects and gets the backlog). */
const MAX_QUEUED_OUTPUT = 16 * 1024 * 1024;
/** Keystrokes that arrive before the shell is open wait, up to this much. */
const MAX_PENDING_INPUT = 64 * 1024;
/** A terminal's client id: the page's own, and the suffixes it adds for a lab's generation or a second shell. */
export const CLIENT_ID = /^[\w.-]{1,100}$/;

/** Pings every socket of a server; one that has not answered the previous ping (nor sent anything since) is dropped. */
export interface Heartbeat {
  /** Start tracking a new socket (and terminate it on a socket error: ws reports invalid frames there). */
  watch(ws: WebSocket): void;
  /** The socket is alive: it sent something. */
  beat(ws: WebSocket): void;
  stop(): void;
}

export function startHeartbeat(sockets: WebSocketServer, intervalMs: number): Heartbeat {
  const alive = new WeakMap<WebSocket, boolean>();
  const timer = setInterval(() => {
    for (const ws of sockets.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  }, intervalMs);
  timer.unref();
  return {
    watch: (ws) => {
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      // Invalid frames (bad UTF-8, oversized, protocol errors) are reported here; the socket is closed by ws.
      ws.on('error', () => ws.terminate());
    },
    beat: (ws) => void alive.set(ws, true),
    stop: () => clearInterval(timer),
  };
}

/** Output to a socket, dropping a socket that lets too much pile up unread. */
export function sendBounded(ws: WebSocket, data: Buffer): void {
  if (ws.readyState !== ws.OPEN) return;
  if (ws.bufferedAmount > MAX_QUEUED_OUTPUT) return ws.terminate();
  ws.send(data, { binary: true });
}

/** A terminal the learner's limits refuse: closed at once with the reason, no shell opened. */
export function refuseLimited(ws: WebSocket, refusal: Refusal): void {
  ws.close(CLOSE_LIMITED, closeReason(refusal.error));
}

export interface TerminalSocketOptions {
  heartbeat: Heartbeat;
  /** Told of an unexpected failure before the socket is closed with CLOSE_TERMINAL_LOST. */
  onError?: (error: unknown) => void;
}

/**
 * One terminal WebSocket: `?machine=&client=&cols=&rows=&seen=` pick the shell (opened or taken over in
 * `terminals`), binary frames are keystrokes, text frames are control messages (`{"type":"resize",…}`).
 * Never rejects: a failure closes the socket with CLOSE_TERMINAL_LOST.
 */
export async function serveTerminalSocket(ws: WebSocket, url: URL, terminals: Pick<TerminalRegistry, 'open'>, options: TerminalSocketOptions): Promise<void> {
  try {
    await openTerminal(ws, url, terminals, options.heartbeat);
  } catch (error) {
    options.onError?.(error);
    ws.close(CLOSE_TERMINAL_LOST, closeReason(`terminal failed: ${messageOf(error)}`));
  }
}

async function openTerminal(ws: WebSocket, url: URL, terminals: Pick<TerminalRegistry, 'open'>, heartbeat: Heartbeat): Promise<void> {
  heartbeat.watch(ws);
  let session: TerminalSession | null = null;
  let attachment: Attachment | null = null;
  let closed = false;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  ws.on('close', () => {
    closed = true;
    attachment?.detach();
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    heartbeat.beat(ws);
    if (isBinary) {
      const bytes = toBuffer(data);
      if (session) return session.write(bytes);
      if (pendingBytes + bytes.length <= MAX_PENDING_INPUT) {
        pending.push(bytes);
        pendingBytes += bytes.length;
      }
      return;
    }
    const message = parseControl(toBuffer(data).toString('utf8'));
    if (message?.type === 'resize' && session) void session.resize(message.columns, message.rows).catch(() => undefined);
  });

  const machine = url.searchParams.get('machine') ?? '';
  if (!findMachine(machine)) return ws.close(1008, closeReason(`no machine ${machine}`));
  const client = url.searchParams.get('client') || 'anonymous';
  if (!CLIENT_ID.test(client)) return ws.close(1008, 'a client id is up to 100 letters, digits, - _ or .');
  const columns = clampSize(url.searchParams.get('cols'), 80);
  const rows = clampSize(url.searchParams.get('rows'), 24);
  let opened: TerminalSession;
  try {
    opened = await terminals.open(client, machine, columns, rows);
  } catch (error) {
    // No such machine (lab down, removed) or no engine (dockerd restarting): the page may retry later.
    return ws.close(CLOSE_TERMINAL_LOST, closeReason(`no terminal on ${machine}: ${messageOf(error)}`));
  }
  if (closed) return; // the shell waits for a reconnect (its orphan timer runs)
  await opened.resize(columns, rows).catch(() => undefined);
  if (closed) return;
  session = opened;
  attachment = opened.attach({ send: (data) => sendBounded(ws, data), close: (code, reason) => ws.close(code, reason) }, Number(url.searchParams.get('seen')) || 0);
  for (const bytes of pending) opened.write(bytes);
  pending = [];
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A terminal size from the query: a whole number from 1 to 1000, else the fallback. */
function clampSize(text: string | null, fallback: number): number {
  const value = Math.floor(Number(text));
  return Number.isFinite(value) && value >= 1 ? Math.min(value, 1000) : fallback;
}

/** A text frame is a control message; anything but a well-formed one is ignored. */
function parseControl(text: string): { type: 'resize'; columns: number; rows: number } | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null) return null;
  const { type, columns, rows } = message as Record<string, unknown>;
  if (type !== 'resize' || typeof columns !== 'number' || typeof rows !== 'number' || columns < 1 || rows < 1) return null;
  return { type, columns: Math.min(Math.floor(columns), 1000), rows: Math.min(Math.floor(rows), 1000) };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

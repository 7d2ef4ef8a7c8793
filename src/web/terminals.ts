import { openLoginShell } from '../../vm/login-shell.ts';
import type { MachineProvider, Terminal } from '../../vm/provider.ts';

const SCROLLBACK_BYTES = 256 * 1024;
/** How long a shell outlives its browser connection, waiting for a reconnect. */
const ORPHAN_MS = 5 * 60_000;

/**
 * WebSocket close codes the page tells apart (4000–4999 are free for applications):
 * the shell exited (do not reconnect), another connection took the shell over (do not fight it),
 * the terminal was lost with the machine or its engine (reconnecting later may find it back), the
 * learner has too many terminals or opened them too fast (the reason says when to try again).
 */
export const CLOSE_SHELL_ENDED = 4000;
export const CLOSE_REPLACED = 4001;
export const CLOSE_TERMINAL_LOST = 4002;
export const CLOSE_LIMITED = 4003;

/** Where a session's output goes: one WebSocket. */
export interface Viewer {
  send(data: Buffer): void;
  close(code: number, reason: string): void;
}

/** One viewer's hold on a session; detaching acts only while this viewer is still the current one. */
export interface Attachment {
  detach(): void;
}

/** A close reason fits in a control frame (123 bytes). */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= 123 ? text : `${bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD+$/, '')}…`;
}

/** A shell in a machine that outlives its WebSocket, so a network blip loses nothing. */
export class TerminalSession {
  private recent: Buffer[] = [];
  private recentBytes = 0;
  /** Every byte the shell has printed so far; a reconnecting client says how many it saw. */
  printed = 0;
  private viewer: Viewer | null = null;
  private orphanTimer: NodeJS.Timeout | null = null;
  ended = false;
  /** Why the session ended, told to any viewer that comes too late. */
  private ending: { code: number; reason: string } | null = null;

  constructor(
    private readonly terminal: Terminal,
    private readonly onEnd: () => void,
    private readonly orphanMs = ORPHAN_MS,
  ) {
    const { stream } = terminal;
    stream.on('data', (data: Buffer) => this.received(data));
    // A dockerd restart, lab down or a removed machine breaks the stream: end the session, never the process.
    stream.on('error', (error: Error) => this.end(CLOSE_TERMINAL_LOST, `terminal lost: ${error.message}`));
    stream.once('close', () => {
      // The provider says how the shell ended; if it never does, the session still ends.
      const fallback = setTimeout(() => this.end(CLOSE_TERMINAL_LOST, 'terminal lost'), 5_000);
      fallback.unref();
      void terminal.exited.finally(() => clearTimeout(fallback));
    });
    terminal.exited.then(
      // -1: the provider could not learn how it ended (the machine or its engine is gone), so it is no ordinary exit.
      (code) => (code < 0 ? this.end(CLOSE_TERMINAL_LOST, 'terminal lost: the machine or its engine went away') : this.end(CLOSE_SHELL_ENDED, `shell ended (exit code ${code})`)),
      (error: unknown) => this.end(CLOSE_TERMINAL_LOST, `terminal lost: ${error instanceof Error ? error.message : String(error)}`),
    );
    this.startOrphanTimer();
  }

  private received(data: Buffer): void {
    this.printed += data.length;
    this.recent.push(data);
    this.recentBytes += data.length;
    while (this.recentBytes > SCROLLBACK_BYTES && this.recent.length > 1) this.recentBytes -= this.recent.shift()!.length;
    this.viewer?.send(data);
  }

  /**
   * Attaches a viewer that has seen `seen` bytes: it first gets what it missed (as far as the buffer
   * reaches). A viewer already attached (another tab with the same client id, or a socket the
   * client gave up on) is closed with CLOSE_REPLACED.
   */
  attach(viewer: Viewer, seen: number): Attachment {
    if (this.ended) {
      viewer.close(this.ending?.code ?? CLOSE_SHELL_ENDED, this.ending?.reason ?? 'shell ended');
      return { detach: () => {} };
    }
    this.stopOrphanTimer();
    const previous = this.viewer;
    this.viewer = viewer;
    if (previous) previous.close(CLOSE_REPLACED, 'this terminal was opened in another connection');
    const missed = Math.min(this.printed - seen, this.recentBytes);
    if (missed > 0) {
      const backlog = Buffer.concat(this.recent);
      viewer.send(backlog.subarray(backlog.length - missed));
    }
    return {
      detach: () => {
        if (this.viewer !== viewer) return;
        this.viewer = null;
        if (!this.ended) this.startOrphanTimer();
      },
    };
  }

  /** Whether a viewer is attached (for tests and status). */
  get attached(): boolean {
    return this.viewer !== null;
  }

  write(data: Buffer): void {
    const { stream } = this.terminal;
    if (this.ended || stream.destroyed || stream.writableEnded) return;
    stream.write(data);
  }

  resize(columns: number, rows: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    return this.terminal.resize(columns, rows);
  }

  /** Ends the shell (server shutdown, orphaned too long). */
  close(code = CLOSE_SHELL_ENDED, reason = 'shell closed'): void {
    const { stream } = this.terminal;
    this.end(code, reason);
    if (!stream.destroyed && !stream.writableEnded) stream.end();
  }

  private startOrphanTimer(): void {
    this.stopOrphanTimer();
    this.orphanTimer = setTimeout(() => this.close(CLOSE_SHELL_ENDED, 'shell closed: no one was connected'), this.orphanMs);
    this.orphanTimer.unref();
  }

  private stopOrphanTimer(): void {
    if (this.orphanTimer) clearTimeout(this.orphanTimer);
    this.orphanTimer = null;
  }

  private end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.ending = { code, reason: closeReason(reason) };
    this.stopOrphanTimer();
    const viewer = this.viewer;
    this.viewer = null;
    viewer?.close(code, this.ending.reason);
    this.onEnd();
  }
}

/** Shells by browser session and machine. */
export class TerminalRegistry {
  private readonly sessions = new Map<string, TerminalSession>();
  /** Shells being opened, so two sockets arriving at once share one. */
  private readonly opening = new Map<string, Promise<TerminalSession>>();

  constructor(
    private readonly provider: MachineProvider,
    private readonly lab: string,
    private readonly orphanMs = ORPHAN_MS,
  ) {}

  open(clientId: string, machine: string, columns: number, rows: number): Promise<TerminalSession> {
    const key = `${clientId}/${machine}`;
    const existing = this.sessions.get(key);
    if (existing && !existing.ended) return Promise.resolve(existing);
    const pending = this.opening.get(key);
    if (pending) return pending;
    const opened = (async () => {
      try {
        const terminal = await openLoginShell(this.provider, this.lab, machine, { columns, rows });
        const session: TerminalSession = new TerminalSession(terminal, () => this.sessions.get(key) === session && this.sessions.delete(key), this.orphanMs);
        if (!session.ended) this.sessions.set(key, session);
        return session;
      } finally {
        this.opening.delete(key);
      }
    })();
    this.opening.set(key, opened);
    return opened;
  }

  /** The open session of a client on a machine, if any. */
  get(clientId: string, machine: string): TerminalSession | undefined {
    return this.sessions.get(`${clientId}/${machine}`);
  }

  closeAll(code: number, reason: string): void {
    for (const session of [...this.sessions.values()]) session.close(code, reason);
  }
}

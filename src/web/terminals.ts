import type { MachineProvider, Terminal } from '../../vm/provider.ts';

const SCROLLBACK_BYTES = 256 * 1024;
/** How long a shell outlives its browser connection, waiting for a reconnect. */
const ORPHAN_MS = 5 * 60_000;

/** A shell in a machine that outlives its WebSocket, so a network blip loses nothing. */
export class TerminalSession {
  private recent: Buffer[] = [];
  private recentBytes = 0;
  /** Every byte the shell has printed so far; a reconnecting client says how many it saw. */
  printed = 0;
  private listener: ((data: Buffer) => void) | null = null;
  private orphanTimer: NodeJS.Timeout | null = null;
  ended = false;

  constructor(
    private readonly terminal: Terminal,
    private readonly onEnd: () => void,
  ) {
    terminal.stream.on('data', (data: Buffer) => this.received(data));
    void terminal.exited.then(() => this.end());
  }

  private received(data: Buffer): void {
    this.printed += data.length;
    this.recent.push(data);
    this.recentBytes += data.length;
    while (this.recentBytes > SCROLLBACK_BYTES && this.recent.length > 1) this.recentBytes -= this.recent.shift()!.length;
    this.listener?.(data);
  }

  /** Attaches a client that has seen `seen` bytes: it first gets what it missed (as far as the buffer reaches). */
  attach(send: (data: Buffer) => void, seen: number): void {
    if (this.orphanTimer) clearTimeout(this.orphanTimer);
    this.orphanTimer = null;
    const missed = Math.min(this.printed - seen, this.recentBytes);
    if (missed > 0) {
      const backlog = Buffer.concat(this.recent);
      send(backlog.subarray(backlog.length - missed));
    }
    this.listener = send;
  }

  detach(): void {
    this.listener = null;
    this.orphanTimer = setTimeout(() => this.close(), ORPHAN_MS);
  }

  write(data: Buffer): void {
    this.terminal.stream.write(data);
  }

  resize(columns: number, rows: number): Promise<void> {
    return this.terminal.resize(columns, rows);
  }

  close(): void {
    this.terminal.stream.end();
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.orphanTimer) clearTimeout(this.orphanTimer);
    this.onEnd();
  }
}

/** Shells by browser session and machine. */
export class TerminalRegistry {
  private readonly sessions = new Map<string, TerminalSession>();

  constructor(
    private readonly provider: MachineProvider,
    private readonly lab: string,
  ) {}

  async open(clientId: string, machine: string, columns: number, rows: number): Promise<TerminalSession> {
    const key = `${clientId}/${machine}`;
    const existing = this.sessions.get(key);
    if (existing && !existing.ended) return existing;
    const terminal = await this.provider.terminal(this.lab, machine, ['bash', '-l'], { columns, rows });
    const session = new TerminalSession(terminal, () => this.sessions.delete(key));
    this.sessions.set(key, session);
    return session;
  }

  closeAll(): void {
    for (const session of this.sessions.values()) session.close();
  }
}

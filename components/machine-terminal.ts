import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import xtermStyles from '@xterm/xterm/css/xterm.css?inline';
import { LitElement, css, html, unsafeCSS, type PropertyValues } from 'lit';
import { terminalUrl } from './api.ts';
import { CLOSE_LIMITED, limitedRetryMs, shellClientId, type Shell } from './shell-client.ts';

/** One browser tab keeps its shells on each machine across reconnects and reloads. */
const clientId = sessionStorage.getItem('hardway-client') ?? crypto.randomUUID();
sessionStorage.setItem('hardway-client', clientId);

/**
 * A root shell in one machine: xterm.js attached over a WebSocket. Binary-safe, follows its box's
 * size, and reconnects after a network blip to the same shell, which replays what was missed. A
 * machine may have a second one beside the first (`shell` 2), a shell of its own.
 */
export class MachineTerminal extends LitElement {
  static override properties = {
    machine: { reflect: true },
    shell: { type: Number, reflect: true },
    active: { type: Boolean },
    generation: { type: Number },
    connection: { state: true },
  };
  static override styles = [
    unsafeCSS(xtermStyles),
    css`
      :host { display: block; position: relative; min-height: 0; }
      .screen { position: absolute; inset: 0; padding: 4px; background: #000; }
      .status { position: absolute; right: 8px; top: 4px; font: 12px system-ui, sans-serif; color: #f0c674; z-index: 10; }
    `,
  ];

  declare machine: string;
  declare shell: Shell;
  declare active: boolean;
  /** The lab's machines as of this generation: a lab replaced since gets new shells, not the old ones' sessions. */
  declare generation: number;
  declare private connection: 'connecting' | 'open' | 'reconnecting' | 'ended' | 'replaced' | 'limited';
  /** Why the server refused the terminal for now (its limits), shown until it opens. */
  private limitedReason = '';

  private terminal?: Terminal;
  private fit = new FitAddon();
  private socket?: WebSocket;
  private seen = 0;
  private retry = 0;
  private resizeObserver?: ResizeObserver;
  private readonly encoder = new TextEncoder();
  /** What type() was given before the socket opened (a terminal just made for a Run button). */
  private typedEarly: Uint8Array[] = [];

  constructor() {
    super();
    this.machine = '';
    this.shell = 1;
    this.active = false;
    this.generation = 0;
    this.connection = 'connecting';
  }

  override render() {
    const status = { connecting: 'connecting…', open: '', reconnecting: 'reconnecting…', ended: 'shell ended — reload to start a new one', replaced: 'open in another tab — reload to use it here', limited: this.limitedReason }[this.connection];
    return html`<div class="screen"></div>${status ? html`<div class="status">${status}</div>` : ''}`;
  }

  override firstUpdated(): void {
    this.terminal = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000, fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace' });
    this.terminal.loadAddon(this.fit);
    this.terminal.open(this.renderRoot.querySelector('.screen') as HTMLDivElement);
    this.terminal.onData((data) => this.send(this.encoder.encode(data)));
    this.terminal.onBinary((data) => this.send(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    this.terminal.onResize(({ cols, rows }) => this.sendControl({ type: 'resize', columns: cols, rows }));
    this.resizeObserver = new ResizeObserver(() => this.refit());
    this.resizeObserver.observe(this);
    this.refit();
    this.connect();
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('active') && this.active) {
      this.refit();
      this.terminal?.focus();
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resizeObserver?.disconnect();
    this.connection = 'ended';
    this.socket?.close();
  }

  /** Types text into the shell as if from the keyboard. */
  type(text: string): void {
    const bytes = this.encoder.encode(text);
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(bytes);
    else this.typedEarly.push(bytes);
    this.terminal?.focus();
  }

  private refit(): void {
    if (this.offsetWidth > 0 && this.offsetHeight > 0) this.fit.fit();
  }

  private connect(): void {
    const terminal = this.terminal!;
    const socket = new WebSocket(terminalUrl(this.machine, shellClientId(clientId, this.generation, this.shell), this.seen, terminal.cols, terminal.rows));
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      this.connection = 'open';
      this.retry = 0;
      for (const bytes of this.typedEarly) socket.send(bytes);
      this.typedEarly = [];
    };
    socket.onmessage = (event) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      this.seen += bytes.length;
      terminal.write(bytes);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.connection === 'ended' || !this.isConnected) return;
      // 4000: the shell exited; 4001: another tab took this shell over. Reconnecting would start or steal a shell.
      if (event.code === 4000 || event.code === 4001) {
        this.connection = event.code === 4000 ? 'ended' : 'replaced';
        return;
      }
      if (event.code === CLOSE_LIMITED) {
        this.limitedReason = event.reason;
        this.connection = 'limited';
        setTimeout(() => this.connect(), limitedRetryMs(event.reason));
        return;
      }
      this.connection = 'reconnecting';
      this.retry += 1;
      setTimeout(() => this.connect(), Math.min(500 * 2 ** this.retry, 5000));
    };
    this.socket = socket;
  }

  private send(bytes: Uint8Array): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(bytes);
  }

  private sendControl(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }
}

customElements.define('machine-terminal', MachineTerminal);

declare global {
  interface HTMLElementTagNameMap {
    'machine-terminal': MachineTerminal;
  }
}

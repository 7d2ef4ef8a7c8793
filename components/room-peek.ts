import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import xtermStyles from '@xterm/xterm/css/xterm.css?inline';
import { LitElement, css, html, unsafeCSS, type PropertyValues } from 'lit';

/** A learner's terminal as the instructor sees it: output only, nothing typed here reaches the shell. */
export class RoomPeek extends LitElement {
  static override properties = { token: {}, learner: { type: Number }, machine: { reflect: true }, status: { state: true } };
  static override styles = [unsafeCSS(xtermStyles), css`:host { display: block; position: relative; } .screen { position: absolute; inset: 0; background: #000; padding: 4px; } .status { position: absolute; right: 8px; top: 4px; color: #f0c674; font-size: 12px; z-index: 5; }`];
  declare token: string;
  declare learner: number;
  declare machine: string;
  declare private status: string;
  private terminal?: Terminal;
  private socket?: WebSocket;
  private fit = new FitAddon();

  constructor() {
    super();
    this.token = '';
    this.learner = 0;
    this.machine = 'jumpbox';
    this.status = 'connecting…';
  }

  override render() {
    return html`<div class="screen"></div>${this.status ? html`<div class="status">${this.status}</div>` : ''}`;
  }

  override firstUpdated(): void {
    this.terminal = new Terminal({ disableStdin: true, fontSize: 13, scrollback: 2000, fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace' });
    this.terminal.loadAddon(this.fit);
    this.terminal.open(this.renderRoot.querySelector('.screen') as HTMLDivElement);
    this.fit.fit();
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('learner') || changed.has('machine')) this.connect();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.socket?.close();
  }

  private connect(): void {
    this.socket?.close();
    this.terminal?.reset();
    const url = new URL('/board/ws/peek', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = new URLSearchParams({ token: this.token, learner: String(this.learner), machine: this.machine }).toString();
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => (this.status = '');
    socket.onmessage = (event) => this.terminal?.write(new Uint8Array(event.data as ArrayBuffer));
    socket.onclose = () => {
      if (this.socket === socket) this.status = 'peek closed';
    };
    this.socket = socket;
  }
}

customElements.define('room-peek', RoomPeek);

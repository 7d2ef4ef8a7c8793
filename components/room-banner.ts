import { LitElement, css, html } from 'lit';

interface Notice {
  id: number;
  at: number;
  text: string;
}

interface Notices {
  messages: Notice[];
  ended: boolean;
  endsAt: number;
  labVersion: string;
  engineUp: boolean;
}

const POLL_MS = 2000;
const token = (): string => document.querySelector<HTMLMetaElement>('meta[name="hardway-token"]')?.content ?? sessionStorage.getItem('hardway-token') ?? '';

/**
 * The room's word on a learner's lab page: the instructor's messages, the room's end, an engine that
 * went away. When the instructor changes the lab (breaks a fault, resets it) the lab page is told to
 * read its state again (a `hardway-refresh` event).
 */
export class RoomBanner extends LitElement {
  static override properties = { messages: { state: true }, notices: { state: true }, dismissedId: { state: true } };
  declare private messages: Notice[];
  declare private notices: Notices | null;
  declare private dismissedId: number;
  private timer?: number;
  private version = '';

  static override styles = css`
    :host { position: fixed; right: 12px; bottom: 12px; z-index: 100; max-width: 420px; display: flex; flex-direction: column; gap: 6px; }
    .note { background: #1f2a35; border: 1px solid #ffb454; border-radius: 6px; padding: 8px 12px; font-size: 14px; white-space: pre-wrap; box-shadow: 0 2px 10px #0008; }
    .note.bad { border-color: #f07178; }
    .from { color: #ffb454; font-size: 12px; display: block; margin-bottom: 2px; }
    button { all: unset; cursor: pointer; float: right; color: #5c6773; margin-left: 8px; }
  `;

  constructor() {
    super();
    this.messages = [];
    this.notices = null;
    this.dismissedId = Number(sessionStorage.getItem('hardway-room-dismissed')) || 0;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.poll();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    try {
      const after = this.messages.at(-1)?.id ?? 0;
      const response = await fetch(`/room/api/notices?after=${after}`, { headers: { Authorization: `Bearer ${token()}` } });
      if (response.ok) {
        const notices = (await response.json()) as Notices;
        this.notices = notices;
        if (notices.messages.length) this.messages = [...this.messages, ...notices.messages].slice(-5);
        if (this.version && notices.labVersion !== this.version) {
          // A fault that appeared (the instructor broke the cluster) is shown at once.
          const faultNow = notices.labVersion.split(':')[2] ?? '';
          const faultBefore = this.version.split(':')[2] ?? '';
          window.dispatchEvent(new CustomEvent('hardway-refresh', { detail: faultNow && faultNow !== faultBefore ? { view: 'fault' } : null }));
        }
        this.version = notices.labVersion;
      }
    } catch {
      // the room server restarts: keep polling
    }
    this.timer = window.setTimeout(() => void this.poll(), POLL_MS);
  }

  private dismiss(id: number): void {
    this.dismissedId = id;
    sessionStorage.setItem('hardway-room-dismissed', String(id));
  }

  override render() {
    const shown = this.messages.filter((m) => m.id > this.dismissedId);
    return html`
      ${this.notices?.ended ? html`<div class="note bad" role="alert">The room has ended: your lab is removed. Thank you for coming!</div>` : ''}
      ${this.notices && !this.notices.engineUp && !this.notices.ended ? html`<div class="note bad" role="alert">The machine your lab runs on is not answering. The instructor can see it; please wait.</div>` : ''}
      ${shown.map((m) => html`<div class="note" role="status"><button aria-label="dismiss" @click=${() => this.dismiss(m.id)}>✕</button><span class="from">Instructor · ${new Date(m.at).toLocaleTimeString()}</span>${m.text}</div>`)}
    `;
  }
}

customElements.define('room-banner', RoomBanner);

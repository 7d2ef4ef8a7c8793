import { LitElement, css, html } from 'lit';
import type { ChapterInfo, MachineInfo } from './api.ts';
import './machine-states.ts';

export interface LabAction {
  action: 'up' | 'reset' | 'down' | 'heal';
  chapter?: number;
}

/** The lab itself: its machines, fast-forward to a chapter, reset to a chapter, heal, remove (each with a confirm where it destroys work). */
export class LabPanel extends LitElement {
  static override properties = {
    lab: { type: String },
    machines: { attribute: false },
    chapters: { attribute: false },
    currentChapter: { type: Number },
    builtThrough: { type: Number },
    busy: { type: Boolean },
    target: { state: true },
    confirming: { state: true },
  };
  declare lab: string;
  declare machines: MachineInfo[];
  declare chapters: ChapterInfo[];
  declare currentChapter: number;
  declare builtThrough: number;
  declare busy: boolean;
  declare private target: number | null;
  declare private confirming: 'reset' | 'down' | null;

  static override styles = css`
    :host { display: block; overflow: auto; padding: 0 16px 16px; line-height: 1.5; }
    h2 { font-size: 18px; color: #ffb454; }
    h3 { font-size: 15px; margin: 20px 0 6px; }
    p { color: #b3b1ad; margin: 4px 0; }
    .row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
    select { font: inherit; background: #0b0e14; color: #e6e1cf; border: 1px solid #3d4b59; border-radius: 4px; padding: 4px; max-width: 100%; }
    button { font: inherit; font-size: 14px; border: 1px solid #3d4b59; background: #1a2733; color: #e6e1cf; border-radius: 4px; padding: 5px 12px; cursor: pointer; }
    button.danger { border-color: #f07178; background: #3a1f1f; }
    button[disabled] { opacity: 0.5; cursor: default; }
    .confirm { margin-top: 8px; padding: 8px; border: 1px solid #f07178; border-radius: 4px; background: #2a1a1c; }
  `;

  constructor() {
    super();
    this.lab = '';
    this.machines = [];
    this.chapters = [];
    this.currentChapter = 1;
    this.builtThrough = 0;
    this.busy = false;
    this.target = null;
    this.confirming = null;
  }

  override render() {
    const target = this.target ?? this.currentChapter;
    const options = this.chapters.map((c) => html`<option value=${c.number} ?selected=${c.number === target}>${c.number}. ${c.title}</option>`);
    const notRunning = this.machines.filter((m) => m.state !== 'running').length;
    return html`
      <h2>Lab ${this.lab}</h2>
      <p>You are at chapter ${this.currentChapter}; every step of chapters 1–${this.builtThrough} has passed.</p>
      <machine-states .machines=${this.machines}></machine-states>
      ${notRunning ? html`<p>${notRunning} machines are not running: "Go to chapter" starts them again (and waits for the cluster to recover).</p>` : ''}

      <h3>Chapter</h3>
      <div class="row">
        <select aria-label="chapter" @change=${(e: Event) => (this.target = Number((e.target as HTMLSelectElement).value))}>${options}</select>
        <button ?disabled=${this.busy} @click=${() => this.fire({ action: 'up', chapter: target })}>Go to chapter ${target}</button>
        <button ?disabled=${this.busy} @click=${() => (this.confirming = 'reset')}>Reset to chapter ${target}…</button>
      </div>
      <p>"Go to" keeps what you built and replays the chapters before it that are not done yet; "Reset" starts from new machines.</p>

      <h3>Repair or remove</h3>
      <div class="row">
        <button ?disabled=${this.busy} @click=${() => this.fire({ action: 'heal' })}>Heal the cluster</button>
        <button class="danger" ?disabled=${this.busy} @click=${() => (this.confirming = 'down')}>Remove lab…</button>
      </div>
      ${this.confirming ? this.renderConfirm(target) : ''}
    `;
  }

  private renderConfirm(target: number) {
    const what = this.confirming === 'down'
      ? `Remove lab ${this.lab}? Every machine, its files and your progress are deleted.`
      : `Reset lab ${this.lab} to chapter ${target}? The machines are replaced by new ones; what you built after chapter ${target - 1} is lost.`;
    const action = this.confirming === 'down' ? { action: 'down' as const } : { action: 'reset' as const, chapter: target };
    return html`<div class="confirm" role="alertdialog" aria-label="confirm">
      <p>${what}</p>
      <div class="row">
        <button class="danger" ?disabled=${this.busy} @click=${() => this.fire(action)}>${this.confirming === 'down' ? 'Remove' : 'Reset'}</button>
        <button @click=${() => (this.confirming = null)}>Cancel</button>
      </div>
    </div>`;
  }

  private fire(detail: LabAction): void {
    this.confirming = null;
    this.dispatchEvent(new CustomEvent<LabAction>('lab-action', { detail, bubbles: true, composed: true }));
  }
}

customElements.define('lab-panel', LabPanel);

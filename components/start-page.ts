import { LitElement, css, html } from 'lit';
import type { ChapterInfo, MachineInfo } from './api.ts';
import './machine-states.ts';

/** What a lab with no machines shows: pick a chapter and start the lab there (the same fast-forward as `lab up N`). */
export class StartPage extends LitElement {
  static override properties = {
    lab: { type: String },
    chapters: { attribute: false },
    machines: { attribute: false },
    busy: { type: Boolean },
    chapter: { state: true },
  };
  declare lab: string;
  declare chapters: ChapterInfo[];
  declare machines: MachineInfo[];
  declare busy: boolean;
  declare private chapter: number;

  static override styles = css`
    :host { display: block; max-width: 760px; margin: 0 auto; padding: 24px 16px; line-height: 1.5; }
    h2 { color: #ffb454; font-size: 20px; margin: 0 0 8px; }
    p { color: #b3b1ad; }
    form { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 18px 0; }
    select { font: inherit; background: #0b0e14; color: #e6e1cf; border: 1px solid #3d4b59; border-radius: 4px; padding: 6px; max-width: 100%; }
    button { font: inherit; font-size: 14px; padding: 6px 14px; border: 1px solid #91b362; background: #1f4d2a; color: #e6e1cf; border-radius: 4px; cursor: pointer; }
    button[disabled] { opacity: 0.5; cursor: default; }
    .note { font-size: 13px; color: #5c6773; }
  `;

  constructor() {
    super();
    this.lab = '';
    this.chapters = [];
    this.machines = [];
    this.busy = false;
    this.chapter = 1;
  }

  override render() {
    const before = this.chapters.filter((c) => c.number < this.chapter).reduce((sum, c) => sum + c.steps.length, 0);
    return html`
      <h2>Start lab ${this.lab}</h2>
      <p>This lab has no machines yet. Pick the chapter to start at: the lab creates the four machines and replays the solutions of every chapter before it, so you land at its start.</p>
      <form @submit=${this.start}>
        <label for="chapter">Chapter</label>
        <select id="chapter" aria-label="chapter to start at" @change=${(e: Event) => (this.chapter = Number((e.target as HTMLSelectElement).value))}>
          ${this.chapters.map((c) => html`<option value=${c.number} ?selected=${c.number === this.chapter}>${c.number}. ${c.title}</option>`)}
        </select>
        <button type="submit" ?disabled=${this.busy}>Start the lab here</button>
      </form>
      <p class="note">${before === 0 ? 'Nothing to replay: you build everything yourself.' : `${before} steps are replayed first; a whole cluster takes a few minutes.`}</p>
      <machine-states .machines=${this.machines}></machine-states>
    `;
  }

  private start(event: Event): void {
    event.preventDefault();
    this.dispatchEvent(new CustomEvent('lab-action', { detail: { action: 'up', chapter: this.chapter }, bubbles: true, composed: true }));
  }
}

customElements.define('start-page', StartPage);

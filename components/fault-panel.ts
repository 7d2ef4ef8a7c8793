import { LitElement, css, html } from 'lit';
import type { ActiveFault, FaultCheck, FaultInfo, GiveUpAnswer, Job } from './api.ts';

export type FaultAction =
  | { action: 'break'; id: string }
  | { action: 'surprise'; component?: string; difficulty?: number }
  | { action: 'check' | 'hint' | 'giveup' };

const stars = (n: number) => '★'.repeat(n) + '☆'.repeat(Math.max(0, 3 - n));

/**
 * Break and fix: the fault list (titles hidden until one is chosen), "Surprise me" (which keeps it
 * hidden), then the symptom, Check in the fault's own words, the hint ladder and Give up.
 */
export class FaultPanel extends LitElement {
  static override properties = {
    faults: { attribute: false },
    fault: { attribute: false },
    check: { attribute: false },
    lastJob: { attribute: false },
    builtThrough: { type: Number },
    clusterChapter: { type: Number },
    busy: { type: Boolean },
    working: { type: String },
    chosen: { state: true },
    component: { state: true },
    difficulty: { state: true },
  };
  declare faults: FaultInfo[];
  declare fault: ActiveFault | null;
  declare check: FaultCheck | null;
  declare lastJob: Job | null;
  declare builtThrough: number;
  declare clusterChapter: number;
  declare busy: boolean;
  declare working: string;
  declare private chosen: string;
  declare private component: string;
  declare private difficulty: number;

  static override styles = css`
    :host { display: block; overflow: auto; padding: 0 16px 16px; line-height: 1.5; }
    h2 { font-size: 18px; color: #ffb454; }
    h3 { font-size: 15px; margin: 18px 0 6px; }
    p { margin: 6px 0; color: #b3b1ad; }
    .symptom { color: #e6e1cf; font-size: 15px; padding: 8px 10px; border-left: 3px solid #ffb454; background: #1a2733; }
    .row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
    button { font: inherit; font-size: 14px; border: 1px solid #3d4b59; background: #1a2733; color: #e6e1cf; border-radius: 4px; padding: 5px 12px; cursor: pointer; }
    button.primary { background: #1f4d2a; border-color: #91b362; }
    button.danger { border-color: #f07178; background: #3a1f1f; }
    button.small { font-size: 12px; padding: 2px 8px; }
    button[disabled] { opacity: 0.5; cursor: default; }
    select { font: inherit; background: #0b0e14; color: #e6e1cf; border: 1px solid #3d4b59; border-radius: 4px; padding: 4px; }
    ul.faults { list-style: none; padding: 0; margin: 0; }
    ul.faults li { display: grid; grid-template-columns: 11em 4em 1fr auto; gap: 8px; align-items: center; padding: 4px 0; border-bottom: 1px solid #1f2a35; font-size: 14px; }
    .component { color: #59c2ff; }
    .stars { color: #ffb454; letter-spacing: 1px; }
    .hidden-title { color: #5c6773; font-style: italic; }
    .result { margin: 10px 0; padding: 10px; border-radius: 4px; }
    .result .failure { white-space: pre-wrap; margin-top: 4px; }
    .result.fail { background: #3a1f1f; border: 1px solid #f07178; }
    .result.pass { background: #1f3324; border: 1px solid #91b362; }
    .result.fail .failure::before { content: '✗ '; color: #f07178; }
    ol.hints { padding-left: 0; list-style: none; }
    ol.hints li { margin: 6px 0; padding: 8px 10px; background: #33301f; border: 1px solid #ffb454; border-radius: 4px; }
    pre { background: #0b0e14; border: 1px solid #253340; padding: 8px 10px; overflow: auto; margin: 4px 0; font-size: 13px; }
    .machine { color: #5c6773; font-size: 12px; }
  `;

  constructor() {
    super();
    this.faults = [];
    this.fault = null;
    this.check = null;
    this.lastJob = null;
    this.builtThrough = 0;
    this.clusterChapter = 0;
    this.busy = false;
    this.working = '';
    this.chosen = '';
    this.component = '';
    this.difficulty = 0;
  }

  override render() {
    return html`<div class="panel"><h2>Break and fix</h2>${this.fault ? this.renderActive(this.fault) : this.renderChoice()}</div>`;
  }

  private renderActive(fault: ActiveFault) {
    const name = fault.hidden ? 'A surprise fault' : fault.title;
    const idle = !this.busy && !this.working;
    return html`
      <section aria-label="active fault" data-fault=${fault.id ?? ''}>
        <h3>${name}${fault.hidden ? '' : html` <span class="component">${fault.component}</span> <span class="stars">${stars(fault.difficulty ?? 0)}</span>`}</h3>
        <p class="symptom" aria-label="symptom">${fault.symptom}</p>
        <p>Find the cause with the log timeline and the components' own tools in the terminals, fix it, then Check.</p>
        <div class="row">
          <button class="primary" ?disabled=${!idle} @click=${() => this.fire({ action: 'check' })}>${this.working === 'check' ? 'Checking…' : 'Check'}</button>
          <button ?disabled=${!idle} @click=${() => this.fire({ action: 'hint' })}>${fault.hints.length >= fault.hintsTotal ? 'Hint (no more)' : 'Hint'}</button>
          <button class="danger" ?disabled=${!idle} @click=${() => this.fire({ action: 'giveup' })}>Give up</button>
        </div>
        ${this.renderCheck()}
        ${fault.hints.length
          ? html`<ol class="hints" aria-label="hints">${fault.hints.map((text, i) => html`<li><strong>Hint ${i + 1} of ${fault.hintsTotal}:</strong> ${text}</li>`)}</ol>`
          : ''}
      </section>
    `;
  }

  private renderCheck() {
    const check = this.check;
    if (!check) return '';
    if (check.passed) return html`<div class="result pass" role="status" aria-label="fault check">✓ Fixed. Every component is healthy and no shortcut was taken.</div>`;
    return html`<div class="result fail" role="status" aria-label="fault check">
      <strong>Still broken:</strong>
      ${check.failures.map((f) => html`<div class="failure">${f.message}</div>`)}
    </div>`;
  }

  private renderChoice() {
    return html`${this.renderOutcome()}${this.builtThrough < this.clusterChapter - 1 ? this.renderNotFinished() : this.renderList()}`;
  }

  /** How the last fault ended: fixed by the learner, or the answer of a give-up. */
  private renderOutcome() {
    if (this.check?.passed && this.check.fixed) {
      return html`<div class="result pass" role="status" aria-label="fault check">✓ Fixed: ${this.check.fixed.title}. Every component is healthy and no shortcut was taken.</div>`;
    }
    const job = this.lastJob;
    if (job?.kind !== 'giveup' || !job.info) return '';
    const answer = job.info as unknown as GiveUpAnswer;
    const block = (list: GiveUpAnswer['fix']) => list.map((a) => html`<div class="machine">on ${a.machine}:</div><pre><code>${a.run}</code></pre>`);
    return html`<section aria-label="answer">
      <h3>The answer: ${answer.title} <span class="component">${answer.component}</span> <span class="stars">${stars(answer.difficulty)}</span></h3>
      <p>It was injected like this:</p>${block(answer.injected)}
      <p>The fix:</p>${block(answer.fix)}
      ${job.state === 'running'
        ? html`<p role="status" aria-label="health">Applying the fix and waiting for a healthy cluster…</p>`
        : job.state === 'done'
          ? html`<div class="result pass" role="status" aria-label="health">✓ The cluster is healthy again.</div>`
          : html`<div class="result fail" role="status" aria-label="health">${job.error?.error ?? 'the fix did not take'}</div>`}
    </section>`;
  }

  private renderNotFinished() {
    return html`<p>Breaking needs a healthy, finished cluster: every chapter before ${this.clusterChapter} done. This lab is built through chapter ${this.builtThrough}.</p>
      <button class="primary" ?disabled=${this.busy} @click=${this.fastForward}>Fast-forward to chapter ${this.clusterChapter}</button>
      <p>That replays the solutions of every chapter not done yet; it takes a few minutes.</p>`;
  }

  private renderList() {
    const components = [...new Set(this.faults.map((f) => f.component))].sort();
    const sorted = [...this.faults].sort((a, b) => a.component.localeCompare(b.component) || a.difficulty - b.difficulty || a.id.localeCompare(b.id));
    return html`
      <p>Break the cluster on purpose, then find and fix it as you would at work. Choose a fault to see what it is, or let the lab surprise you.</p>
      <h3>Surprise me</h3>
      <div class="row">
        <select aria-label="component" @change=${(e: Event) => (this.component = (e.target as HTMLSelectElement).value)}>
          <option value="">any component</option>
          ${components.map((c) => html`<option value=${c} ?selected=${c === this.component}>${c}</option>`)}
        </select>
        <select aria-label="difficulty" @change=${(e: Event) => (this.difficulty = Number((e.target as HTMLSelectElement).value))}>
          <option value="0">any difficulty</option>
          ${[1, 2, 3].map((d) => html`<option value=${d} ?selected=${d === this.difficulty}>${stars(d)}</option>`)}
        </select>
        <button class="primary" ?disabled=${this.busy} @click=${this.surprise}>Surprise me</button>
      </div>
      <h3>Faults</h3>
      <ul class="faults" aria-label="faults">
        ${sorted.map((f) => html`<li data-fault=${f.id}>
          <span class="component">${f.component}</span>
          <span class="stars" title="difficulty ${f.difficulty} of 3">${stars(f.difficulty)}</span>
          ${this.chosen === f.id ? html`<span class="title">${f.title}</span>` : html`<span class="hidden-title">hidden until chosen</span>`}
          ${this.chosen === f.id
            ? html`<button class="small danger" ?disabled=${this.busy} @click=${() => this.fire({ action: 'break', id: f.id })}>Break it</button>`
            : html`<button class="small" @click=${() => (this.chosen = f.id)}>Choose</button>`}
        </li>`)}
      </ul>
    `;
  }

  private surprise(): void {
    this.fire({ action: 'surprise', ...(this.component ? { component: this.component } : {}), ...(this.difficulty ? { difficulty: this.difficulty } : {}) });
  }

  private fastForward(): void {
    this.dispatchEvent(new CustomEvent('lab-action', { detail: { action: 'up', chapter: this.clusterChapter }, bubbles: true, composed: true }));
  }

  private fire(detail: FaultAction): void {
    this.dispatchEvent(new CustomEvent<FaultAction>('fault-action', { detail, bubbles: true, composed: true }));
  }
}

customElements.define('fault-panel', FaultPanel);

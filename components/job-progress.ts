import { LitElement, css, html } from 'lit';
import type { Job } from './api.ts';

/** A background job of the lab (up, reset, break, give up…): its progress lines as they come, then how it ended. */
export class JobProgress extends LitElement {
  static override properties = { job: { attribute: false }, now: { state: true } };
  declare job: Job | null;
  declare private now: number;
  private timer?: number;

  static override styles = css`
    :host { display: block; }
    section { margin: 10px 16px; padding: 10px 12px; border: 1px solid #3d4b59; border-radius: 4px; background: #131a21; }
    section.failed { border-color: #f07178; background: #2a1a1c; }
    section.done { border-color: #91b362; }
    header { display: flex; align-items: baseline; gap: 10px; }
    h3 { margin: 0; font-size: 14px; color: #e6e1cf; }
    .when { color: #5c6773; font-size: 12px; margin-left: auto; white-space: nowrap; }
    ol { list-style: none; margin: 8px 0 0; padding: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px;
      max-height: 14em; overflow: auto; white-space: pre-wrap; }
    li.progress::before { content: '… '; color: #ffb454; }
    li.done::before { content: '✓ '; color: #91b362; }
    li.warn { color: #ffb454; }
    .error { margin-top: 8px; color: #f07178; white-space: pre-wrap; }
    .next { margin-top: 4px; color: #b3b1ad; }
    .failures div::before { content: '✗ '; color: #f07178; }
    button { font: inherit; font-size: 12px; border: 1px solid #3d4b59; background: #1a2733; color: #e6e1cf; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
    .spinner { display: inline-block; width: 10px; height: 10px; border: 2px solid #ffb454; border-right-color: transparent; border-radius: 50%; animation: spin 1s linear infinite; }
    @keyframes spin { to { transform: rotate(360deg); } }
  `;

  constructor() {
    super();
    this.job = null;
    this.now = Date.now();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.timer = window.setInterval(() => (this.now = Date.now()), 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearInterval(this.timer);
  }

  override render() {
    const job = this.job;
    if (!job) return '';
    const seconds = Math.round(((job.finishedAt ?? this.now) - job.startedAt) / 1000);
    const status = job.state === 'running' ? html`<span class="spinner" aria-hidden="true"></span> running, ${seconds} s` : job.state === 'done' ? `done in ${seconds} s` : `failed after ${seconds} s`;
    return html`<section class=${job.state} role="status" aria-label="job" data-state=${job.state} data-kind=${job.kind} data-job=${job.id}>
      <header>
        <h3>${job.title}</h3>
        <span class="when">${status}</span>
        ${job.state === 'running' ? '' : html`<button @click=${this.dismiss}>Dismiss</button>`}
      </header>
      ${job.lines.length ? html`<ol>${job.lines.map((line) => html`<li class=${line.kind}>${line.text}</li>`)}</ol>` : ''}
      ${job.error
        ? html`<div class="error">✗ ${job.error.error}</div>
            ${job.error.failures?.length ? html`<div class="failures">${job.error.failures.map((f) => html`<div>${f.message}</div>`)}</div>` : ''}
            ${job.error.next ? html`<div class="next">Next: ${job.error.next}</div>` : ''}`
        : ''}
    </section>`;
  }

  private dismiss(): void {
    this.dispatchEvent(new CustomEvent('job-dismissed', { detail: { id: this.job?.id }, bubbles: true, composed: true }));
  }
}

customElements.define('job-progress', JobProgress);

import MarkdownIt from 'markdown-it';
import { LitElement, css, html } from 'lit';
import { unsafeHTML } from 'lit/directives/unsafe-html.js';
import type { StepInfo, StepResult } from './api.ts';
import { readFenceInfo } from '../src/engine/prose.ts';
import type { Shell } from './shell-client.ts';

const markdown = new MarkdownIt({ html: false, linkify: true });

/** A `run-command` event's detail: a block to type into a machine's first shell, or its second one. */
export interface RunCommand {
  machine: string;
  shell: Shell;
  command: string;
}

/** What the step asks for, rendered from its Markdown; code blocks can be copied or typed into a machine's first or second shell. */
export class StepView extends LitElement {
  static override properties = {
    step: { attribute: false },
    chapter: { type: Number },
    result: { attribute: false },
    busy: { type: String },
  };
  declare step: StepInfo | null;
  declare chapter: number;
  declare result: StepResult | null;
  declare busy: string;

  static override styles = css`
    :host { display: flex; flex-direction: column; min-height: 0; }
    .prose { overflow: auto; padding: 0 16px 16px; line-height: 1.5; flex: 1; }
    h2 { font-size: 18px; color: #ffb454; }
    .machine { color: #5c6773; font-size: 13px; }
    code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; background: #1a2733; padding: 1px 4px; border-radius: 3px; }
    .block { position: relative; margin: 12px 0; }
    pre { background: #0b0e14; border: 1px solid #253340; padding: 32px 10px 10px; overflow: auto; margin: 0; }
    pre code { background: none; padding: 0; }
    .block .tools { position: absolute; top: 4px; right: 4px; display: flex; gap: 4px; align-items: center; }
    .tools .where { font-size: 12px; color: #5c6773; }
    .tools button, .actions button { font: inherit; font-size: 12px; border: 1px solid #3d4b59; background: #1a2733; color: #e6e1cf; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
    .actions { display: flex; gap: 8px; padding: 10px 16px; border-top: 1px solid #253340; }
    .actions button { font-size: 14px; padding: 6px 14px; }
    .actions button.primary { background: #1f4d2a; border-color: #91b362; }
    .result { margin: 0 16px 12px; padding: 10px; border-radius: 4px; white-space: pre-wrap; }
    .result.pass { background: #1f3324; border: 1px solid #91b362; }
    .result.fail { background: #3a1f1f; border: 1px solid #f07178; }
    .result.hint { background: #33301f; border: 1px solid #ffb454; }
    details pre { max-height: 12em; }
  `;

  constructor() {
    super();
    this.step = null;
    this.chapter = 0;
    this.result = null;
    this.busy = '';
  }

  override render() {
    if (!this.step) return html`<div class="prose"><p>Choose a step.</p></div>`;
    return html`
      <div class="prose" @click=${this.onProseClick}>
        <p class="machine">Chapter ${this.chapter} · runs on <strong>${this.step.machine}</strong></p>
        ${unsafeHTML(this.renderMarkdown(this.step.prose))}
      </div>
      ${this.renderResult()}
      <div class="actions">
        <button class="primary" ?disabled=${!!this.busy} @click=${() => this.fire('step-action', 'check')}>${this.busy === 'check' ? 'Checking…' : 'Check'}</button>
        <button ?disabled=${!!this.busy} @click=${() => this.fire('step-action', 'hint')}>Hint</button>
        <button ?disabled=${!!this.busy} @click=${() => this.fire('step-action', 'solve')}>${this.busy === 'solve' ? 'Solving…' : 'Solve'}</button>
      </div>
    `;
  }

  /** Markdown to HTML, each code block wrapped with Copy and, for commands typed into a machine, Run buttons. */
  private renderMarkdown(source: string): string {
    let index = 0;
    // One parse: the same tokens give the HTML and, in order, what each code block is.
    const tokens = markdown.parse(source, {});
    const rendered = markdown.renderer.render(tokens, markdown.options, {});
    const places = tokens.filter((t) => t.type === 'fence' || t.type === 'code_block').map((t) => (t.type === 'fence' ? readFenceInfo(t.info) : null));
    return rendered.replace(/<pre><code[^>]*>/g, (open) => {
      const i = index++;
      const info = places[i];
      const machine = info?.machine ?? this.step!.machine;
      // Commands are typed into the machine; sample output can only be copied; the learner's own computer's commands are theirs to run.
      const run = !info?.commands
        ? ''
        : info.place === 'host'
          ? '<span class="where">on your own computer</span>'
          : info.place === 'second-shell'
            ? `<button data-action="run" data-machine="${machine}" data-shell="2">Run in second shell on ${machine}</button>`
            : `<button data-action="run" data-machine="${machine}" data-shell="1">Run on ${machine}</button>`;
      return `<div class="block" data-block="${i}"><div class="tools"><button data-action="copy">Copy</button>${run}</div><pre>${open.slice(5)}`;
    }).replace(/<\/code><\/pre>/g, '</code></pre></div>');
  }

  private onProseClick(event: Event): void {
    const button = (event.target as HTMLElement).closest('button[data-action]') as HTMLButtonElement | null;
    if (!button) return;
    const code = button.closest('.block')?.querySelector('code')?.textContent ?? '';
    if (button.dataset.action === 'copy') {
      void navigator.clipboard?.writeText(code);
      button.textContent = 'Copied';
      setTimeout(() => (button.textContent = 'Copy'), 1200);
    } else {
      const detail: RunCommand = { machine: button.dataset.machine ?? this.step!.machine, shell: button.dataset.shell === '2' ? 2 : 1, command: code };
      this.dispatchEvent(new CustomEvent('run-command', { detail, bubbles: true, composed: true }));
    }
  }

  private renderResult() {
    const result = this.result;
    if (!result) return '';
    if (result.error) return html`<div class="result fail" role="status">${result.error}</div>`;
    if (result.text) return html`<div class="result hint" role="status"><strong>Hint ${result.index} of ${result.total}:</strong> ${result.text}</div>`;
    if (result.passed) {
      return html`<div class="result pass" role="status">✓ Passed${result.solution ? html` — the solution ran:<pre><code>${result.solution}</code></pre>` : ''}</div>`;
    }
    return html`<div class="result fail" role="status">
      <strong>✗ Not yet.</strong>
      ${(result.failures ?? []).map((f) => html`<div>${f.message}</div>${f.output ? html`<details><summary>what the check saw</summary><pre><code>${f.output}</code></pre></details>` : ''}`)}
    </div>`;
  }

  private fire(name: string, action: string): void {
    this.dispatchEvent(new CustomEvent(name, { detail: { action }, bubbles: true, composed: true }));
  }
}

customElements.define('step-view', StepView);

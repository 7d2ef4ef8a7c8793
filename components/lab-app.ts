import { LitElement, css, html } from 'lit';
import { fetchState, stepAction, type LabState, type StepResult } from './api.ts';
import type { StepSelection } from './chapter-list.ts';
import './chapter-list.ts';
import './machine-terminal.ts';
import type { MachineTerminal } from './machine-terminal.ts';
import './step-view.ts';
import './log-timeline.ts';

/** The browser lab: chapters, the current step's prose and buttons, and a terminal per machine. */
export class LabApp extends LitElement {
  static override properties = {
    state: { state: true },
    selected: { state: true },
    activeMachine: { state: true },
    result: { state: true },
    busy: { state: true },
    error: { state: true },
  };
  declare private state: LabState | null;
  declare private selected: StepSelection | null;
  declare private activeMachine: string;
  declare private result: StepResult | null;
  declare private busy: string;
  declare private error: string;

  static override styles = css`
    :host { display: grid; height: 100vh; grid-template-columns: minmax(220px, 280px) minmax(320px, 1fr) minmax(360px, 1.2fr);
      grid-template-rows: auto 1fr; grid-template-areas: 'top top top' 'chapters step terminals'; }
    header { grid-area: top; display: flex; align-items: center; gap: 12px; padding: 8px 14px; border-bottom: 1px solid #253340; }
    header h1 { font-size: 16px; margin: 0; color: #ffb454; }
    header .lab { color: #5c6773; font-size: 13px; }
    chapter-list { grid-area: chapters; border-right: 1px solid #253340; min-height: 0; }
    step-view { grid-area: step; min-height: 0; border-right: 1px solid #253340; }
    .terminals { grid-area: terminals; display: flex; flex-direction: column; min-height: 0; }
    [role='tablist'] { display: flex; border-bottom: 1px solid #253340; }
    [role='tab'] { all: unset; padding: 8px 14px; cursor: pointer; color: #b3b1ad; font-size: 14px; }
    [role='tab'][aria-selected='true'] { color: #ffb454; box-shadow: inset 0 -2px #ffb454; }
    machine-terminal { flex: 3; }
    log-timeline { flex: 2; min-height: 140px; }
    machine-terminal:not([active]) { display: none; }
    .error { padding: 20px; color: #f07178; }
    @media (max-width: 900px) {
      :host { grid-template-columns: 1fr; grid-template-rows: auto auto minmax(280px, 1fr) 620px;
        grid-template-areas: 'top' 'chapters' 'step' 'terminals'; height: auto; min-height: 100vh; }
      chapter-list { max-height: 30vh; border-right: none; border-bottom: 1px solid #253340; }
      step-view { border-right: none; }
    }
  `;

  constructor() {
    super();
    this.state = null;
    this.selected = null;
    this.activeMachine = 'jumpbox';
    this.result = null;
    this.busy = '';
    this.error = '';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      this.state = await fetchState();
      if (!this.selected) this.selected = this.firstOpenStep(this.state);
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  private firstOpenStep(state: LabState): StepSelection | null {
    const chapter = state.chapters.find((c) => c.number === state.currentChapter) ?? state.chapters[0];
    const step = chapter?.steps.find((s) => !s.passed) ?? chapter?.steps[0];
    return chapter && step ? { chapter: chapter.number, step: step.id } : null;
  }

  override render() {
    if (this.error) return html`<div class="error">${this.error}</div>`;
    if (!this.state) return html`<div class="error">Loading the lab…</div>`;
    const chapter = this.state.chapters.find((c) => c.number === this.selected?.chapter);
    const step = chapter?.steps.find((s) => s.id === this.selected?.step) ?? null;
    return html`
      <header><h1>hardway</h1><span class="lab">lab ${this.state.lab}</span></header>
      <chapter-list .chapters=${this.state.chapters} .selected=${this.selected} @step-selected=${this.onStepSelected}></chapter-list>
      <step-view .step=${step} .chapter=${chapter?.number ?? 0} .result=${this.result} .busy=${this.busy}
        @step-action=${this.onStepAction} @run-command=${this.onRunCommand}></step-view>
      <section class="terminals">
        <div role="tablist">
          ${this.state.machines.map(
            (m) => html`<button role="tab" aria-selected=${m.name === this.activeMachine} title=${m.description} @click=${() => (this.activeMachine = m.name)}>${m.name}</button>`,
          )}
        </div>
        ${this.state.machines.map((m) => html`<machine-terminal machine=${m.name} ?active=${m.name === this.activeMachine}></machine-terminal>`)}
        <log-timeline .components=${this.state.components}></log-timeline>
      </section>
    `;
  }

  private onStepSelected(event: CustomEvent<StepSelection>): void {
    this.selected = event.detail;
    this.result = null;
  }

  private async onStepAction(event: CustomEvent<{ action: 'check' | 'hint' | 'solve' }>): Promise<void> {
    if (!this.selected) return;
    this.busy = event.detail.action;
    try {
      this.result = await stepAction(event.detail.action, this.selected.chapter, this.selected.step);
      if (event.detail.action !== 'hint') await this.load();
    } catch (error) {
      this.result = { error: error instanceof Error ? error.message : String(error) };
    } finally {
      this.busy = '';
    }
  }

  private onRunCommand(event: CustomEvent<{ machine: string; command: string }>): void {
    this.activeMachine = event.detail.machine;
    void this.updateComplete.then(() => {
      const terminal = this.renderRoot.querySelector(`machine-terminal[machine="${event.detail.machine}"]`) as MachineTerminal | null;
      terminal?.type(event.detail.command.replace(/\n*$/, '\n'));
    });
  }
}

customElements.define('lab-app', LabApp);

import { LitElement, css, html } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { repeat } from 'lit/directives/repeat.js';
import { ApiError, fetchState, post, stepAction, type Answer, type FaultCheck, type Job, type LabState, type StepResult } from './api.ts';
import type { StepSelection } from './chapter-list.ts';
import type { FaultAction } from './fault-panel.ts';
import type { LabAction } from './lab-panel.ts';
import type { MachineTerminal } from './machine-terminal.ts';
import './build-progress.ts';
import type { Shell } from './shell-client.ts';
import type { RunCommand } from './step-view.ts';
import './chapter-list.ts';
import './cluster-map.ts';
import './trace-panel.ts';
import './fault-panel.ts';
import './job-progress.ts';
import './lab-panel.ts';
import './log-timeline.ts';
import './machine-terminal.ts';
import './start-page.ts';
import './step-view.ts';

type View = 'course' | 'lab' | 'fault' | 'cluster';
/** The machines with a second shell open, in the lab of that generation (a replaced lab starts without). */
interface SecondShells {
  generation: number;
  machines: string[];
}
const VIEW_KEY = 'hardway-view';
const DISMISSED_KEY = 'hardway-dismissed-job';
const SECOND_SHELLS_KEY = 'hardway-second-shells';
/** How often the page reads the state while a job runs. */
const POLL_MS = 1000;
/** How often while only the binaries are being built (in the background, for minutes). */
const BUILD_POLL_MS = 3000;

/**
 * The browser lab. A lab without machines shows the start page; otherwise the chapters, the middle
 * column (a step's prose and buttons, the lab panel, or break-and-fix) and a terminal per machine with
 * the log timeline. Long work runs as a job on the server; the page polls the state while one runs,
 * so a reload picks it up again.
 */
export class LabApp extends LitElement {
  static override properties = {
    state: { state: true },
    selected: { state: true },
    activeMachine: { state: true },
    activeShell: { state: true },
    secondShells: { state: true },
    result: { state: true },
    busy: { state: true },
    error: { state: true },
    view: { state: true },
    faultCheck: { state: true },
    working: { state: true },
    notice: { state: true },
    dismissed: { state: true },
  };
  declare private state: LabState | null;
  declare private selected: StepSelection | null;
  declare private activeMachine: string;
  declare private activeShell: Shell;
  declare private secondShells: SecondShells;
  declare private result: StepResult | null;
  declare private busy: string;
  declare private error: string;
  declare private view: View;
  declare private faultCheck: FaultCheck | null;
  declare private working: string;
  declare private notice: { error: string; next?: string } | null;
  declare private dismissed: number;
  private pollTimer?: number;

  static override styles = css`
    :host { display: block; height: 100vh; }
    .main { display: grid; height: 100%; grid-template-columns: minmax(220px, 280px) minmax(320px, 1fr) minmax(360px, 1.2fr);
      grid-template-rows: auto 1fr; grid-template-areas: 'top top top' 'chapters middle terminals'; }
    .start { display: flex; flex-direction: column; height: 100%; overflow: auto; }
    header { grid-area: top; display: flex; align-items: center; gap: 12px; padding: 8px 14px; border-bottom: 1px solid #253340; flex-wrap: wrap; }
    header h1 { font-size: 16px; margin: 0; color: #ffb454; }
    header .lab { color: #5c6773; font-size: 13px; }
    nav { display: flex; gap: 4px; margin-left: 12px; }
    nav button { all: unset; cursor: pointer; padding: 4px 10px; border-radius: 4px; color: #b3b1ad; font-size: 14px; }
    nav button[aria-pressed='true'] { background: #253340; color: #ffb454; }
    .flag { margin-left: auto; font-size: 13px; color: #f07178; cursor: pointer; }
    chapter-list { grid-area: chapters; border-right: 1px solid #253340; min-height: 0; }
    .middle { grid-area: middle; display: flex; flex-direction: column; min-height: 0; border-right: 1px solid #253340; }
    .middle > step-view, .middle > lab-panel, .middle > fault-panel { flex: 1; min-height: 0; }
    .main.wide .middle { grid-column: 2 / 4; border-right: none; }
    .main.wide .terminals { display: none; }
    .cluster { flex: 1; min-height: 0; overflow: auto; padding: 10px 16px; display: flex; flex-direction: column; gap: 10px; }
    .cluster > * { flex: none; }
    .notice { margin: 10px 16px 0; padding: 8px 10px; border: 1px solid #f07178; border-radius: 4px; background: #2a1a1c; white-space: pre-wrap; }
    .notice button { all: unset; cursor: pointer; float: right; color: #5c6773; }
    .terminals { grid-area: terminals; display: flex; flex-direction: column; min-height: 0; }
    [role='tablist'] { display: flex; border-bottom: 1px solid #253340; }
    [role='tab'] { all: unset; padding: 8px 14px; cursor: pointer; color: #b3b1ad; font-size: 14px; }
    [role='tab'][aria-selected='true'] { color: #ffb454; box-shadow: inset 0 -2px #ffb454; }
    [role='tab'] .state { font-size: 11px; color: #5c6773; margin-left: 4px; }
    .add-shell { all: unset; padding: 8px 10px; cursor: pointer; color: #5c6773; font-size: 14px; }
    .add-shell:hover, .add-shell:focus-visible { color: #ffb454; }
    machine-terminal { flex: 3; }
    log-timeline { flex: 2; min-height: 140px; }
    machine-terminal:not([active]) { display: none; }
    .error { padding: 20px; color: #f07178; }
    @media (max-width: 900px) {
      :host { height: auto; }
      .main { grid-template-columns: 1fr; grid-template-rows: auto auto minmax(280px, 1fr) 620px;
        grid-template-areas: 'top' 'chapters' 'middle' 'terminals'; height: auto; min-height: 100vh; }
      chapter-list { max-height: 30vh; border-right: none; border-bottom: 1px solid #253340; }
      .middle { border-right: none; }
    }
  `;

  constructor() {
    super();
    this.state = null;
    this.selected = null;
    this.activeMachine = 'jumpbox';
    this.activeShell = 1;
    this.secondShells = (JSON.parse(sessionStorage.getItem(SECOND_SHELLS_KEY) ?? 'null') as SecondShells | null) ?? { generation: 0, machines: [] };
    this.result = null;
    this.busy = '';
    this.error = '';
    this.view = (sessionStorage.getItem(VIEW_KEY) as View | null) ?? 'course';
    this.faultCheck = null;
    this.working = '';
    this.notice = null;
    this.dismissed = Number(sessionStorage.getItem(DISMISSED_KEY)) || 0;
  }

  /** Something outside the page changed the lab (a room's instructor broke or reset it): read its state again, maybe showing a view. */
  private readonly onRefresh = (event: Event): void => {
    const view = (event as CustomEvent<{ view?: View } | null>).detail?.view;
    if (view) this.show(view);
    void this.load();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hardway-refresh', this.onRefresh);
    void this.load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hardway-refresh', this.onRefresh);
    window.clearTimeout(this.pollTimer);
  }

  /** Reads the state; while a job runs, again every second; acts once when a job it saw running ends. */
  private async load(): Promise<void> {
    window.clearTimeout(this.pollTimer);
    const before = this.state?.job ?? null;
    try {
      const state = await fetchState();
      const first = !this.state;
      this.state = state;
      this.error = '';
      if (first) {
        this.selected = this.firstOpenStep(state);
        if (state.fault && !sessionStorage.getItem(VIEW_KEY)) this.view = 'fault';
      }
      const job = state.job;
      if (before?.state === 'running' && job && (job.id !== before.id || job.state !== 'running')) this.jobEnded(job);
      if (job?.state === 'running') this.pollTimer = window.setTimeout(() => void this.load(), POLL_MS);
      else if (state.binaries.build?.state === 'building') this.pollTimer = window.setTimeout(() => void this.load(), BUILD_POLL_MS);
    } catch (error) {
      if (!this.state) this.error = error instanceof Error ? error.message : String(error);
      // Refused for asking too often (429), it waits as long as the server says before asking again.
      else this.pollTimer = window.setTimeout(() => void this.load(), Math.max(POLL_MS * 3, error instanceof ApiError && error.retryAfterS ? error.retryAfterS * 1000 : 0));
    }
  }

  private jobEnded(job: Job): void {
    if (job.kind === 'up' || job.kind === 'reset' || job.kind === 'down') {
      this.selected = this.firstOpenStep(this.state!);
      this.result = null;
    }
    if (job.kind === 'break' || job.kind === 'giveup' || job.kind === 'heal') this.faultCheck = null;
    if (job.kind === 'break' && job.state === 'done') this.show('fault');
  }

  private firstOpenStep(state: LabState): StepSelection | null {
    const chapter = state.chapters.find((c) => c.number === state.currentChapter) ?? state.chapters[0];
    const step = chapter?.steps.find((s) => !s.passed) ?? chapter?.steps[0];
    return chapter && step ? { chapter: chapter.number, step: step.id } : null;
  }

  private show(view: View): void {
    this.view = view;
    sessionStorage.setItem(VIEW_KEY, view);
  }

  /** The start page stands in for the terminals while the lab has no machines, or is being (re)made or removed. */
  private starting(state: LabState): boolean {
    const job = state.job;
    const making = job?.state === 'running' && (job.kind === 'reset' || job.kind === 'down' || (job.kind === 'up' && job.info?.fresh === true));
    return making || state.machines.every((m) => m.state === 'missing');
  }

  override render() {
    if (this.error) return html`<div class="error">${this.error}</div>`;
    if (!this.state) return html`<div class="error">Loading the lab…</div>`;
    const state = this.state;
    const running = state.job?.state === 'running';
    if (this.starting(state)) {
      return html`<div class="start">
        <header><h1>hardway</h1><span class="lab">lab ${state.lab}</span></header>
        ${this.renderNotice()}${this.renderBuild()}${this.renderJob()}
        <start-page .lab=${state.lab} .chapters=${state.chapters} .machines=${state.machines} ?busy=${running} @lab-action=${this.onLabAction}></start-page>
      </div>`;
    }
    const chapter = state.chapters.find((c) => c.number === this.selected?.chapter);
    const step = chapter?.steps.find((s) => s.id === this.selected?.step) ?? null;
    const tab = (view: View, label: string) => html`<button aria-pressed=${this.view === view} @click=${() => this.show(view)}>${label}</button>`;
    return html`<div class="main ${this.view === 'cluster' ? 'wide' : ''}">
      <header>
        <h1>hardway</h1><span class="lab">lab ${state.lab}</span>
        <nav aria-label="views">${tab('course', 'Course')}${tab('lab', 'Lab')}${tab('fault', 'Break & fix')}${tab('cluster', 'Cluster')}</nav>
        ${state.fault ? html`<span class="flag" @click=${() => this.show('fault')}>⚠ ${state.fault.hidden ? 'a surprise fault' : state.fault.title} to fix</span>` : ''}
      </header>
      <chapter-list .chapters=${state.chapters} .selected=${this.selected} @step-selected=${this.onStepSelected}></chapter-list>
      <div class="middle">
        ${this.renderNotice()}${this.renderBuild()}${this.renderJob()}
        ${this.view === 'course'
          ? html`<step-view .step=${step} .chapter=${chapter?.number ?? 0} .result=${this.result} .busy=${this.busy}
              @step-action=${this.onStepAction} @run-command=${this.onRunCommand}></step-view>`
          : this.view === 'cluster'
            ? html`<div class="cluster"><cluster-map></cluster-map><trace-panel></trace-panel></div>`
          : this.view === 'lab'
            ? html`<lab-panel .lab=${state.lab} .machines=${state.machines} .chapters=${state.chapters} .currentChapter=${state.currentChapter}
                .builtThrough=${state.builtThrough} ?busy=${running} @lab-action=${this.onLabAction}></lab-panel>`
            : html`<fault-panel .faults=${state.faults} .fault=${state.fault} .check=${this.faultCheck} .lastJob=${state.job}
                .builtThrough=${state.builtThrough} .clusterChapter=${state.clusterChapter} ?busy=${running} .working=${this.working}
                @fault-action=${this.onFaultAction} @lab-action=${this.onLabAction}></fault-panel>`}
      </div>
      <section class="terminals">
        ${this.renderTerminals(state)}
        <log-timeline .components=${state.components}></log-timeline>
      </section>
    </div>`;
  }

  /** A tab and a terminal per machine, and one more for each second shell, beside its machine's first. */
  private renderTerminals(state: LabState) {
    const seconds = this.secondShellsOf(state);
    const shells = state.machines.flatMap((m) => (seconds.includes(m.name) ? [{ m, shell: 1 as Shell }, { m, shell: 2 as Shell }] : [{ m, shell: 1 as Shell }]));
    const activeHasSecond = seconds.includes(this.activeMachine);
    // A second shell of a lab since replaced is gone: its machine's first shell shows instead.
    const activeShell = activeHasSecond ? this.activeShell : 1;
    const active = (name: string, shell: Shell) => name === this.activeMachine && shell === activeShell;
    return html`<div role="tablist">
        ${shells.map(
          ({ m, shell }) => html`<button role="tab" aria-selected=${active(m.name, shell)} title=${shell === 1 ? m.description : `a second shell on ${m.name}`}
            @click=${() => this.activate(m.name, shell)}>${m.name}${shell === 2 ? ' ²' : ''}${m.state === 'running' ? '' : html`<span class="state">${m.state}</span>`}</button>`,
        )}
        ${activeHasSecond ? '' : html`<button class="add-shell" aria-label="second shell on ${this.activeMachine}" title="Open a second shell on ${this.activeMachine}" @click=${() => this.openSecondShell(this.activeMachine)}>+</button>`}
      </div>
      ${keyed(
        state.generation,
        // Keyed by machine and shell: a second shell appearing must not hand another machine's terminal (and its socket) to it.
        repeat(shells, ({ m, shell }) => `${m.name}/${shell}`, ({ m, shell }) => html`<machine-terminal machine=${m.name} shell=${shell} .generation=${state.generation} ?active=${active(m.name, shell)}></machine-terminal>`),
      )}`;
  }

  private secondShellsOf(state: LabState): string[] {
    return this.secondShells.generation === state.generation ? this.secondShells.machines : [];
  }

  private activate(machine: string, shell: Shell): void {
    this.activeMachine = machine;
    this.activeShell = shell;
  }

  /** Shows a machine's second shell, making it if this lab has none there yet; the tab remembers it across reloads. */
  private openSecondShell(machine: string): void {
    const generation = this.state!.generation;
    const machines = this.secondShellsOf(this.state!);
    if (!machines.includes(machine)) {
      this.secondShells = { generation, machines: [...machines, machine] };
      sessionStorage.setItem(SECOND_SHELLS_KEY, JSON.stringify(this.secondShells));
    }
    this.activate(machine, 2);
  }

  private renderJob() {
    const job = this.state?.job;
    if (!job || (job.state !== 'running' && job.id <= this.dismissed)) return '';
    return html`<job-progress .job=${job} @job-dismissed=${this.onJobDismissed}></job-progress>`;
  }

  private renderBuild() {
    return html`<build-progress .binaries=${this.state?.binaries ?? null}></build-progress>`;
  }

  private renderNotice() {
    if (!this.notice) return '';
    return html`<div class="notice" role="alert"><button aria-label="close" @click=${() => (this.notice = null)}>✕</button>${this.notice.error}${this.notice.next ? html`<br />Next: ${this.notice.next}` : ''}</div>`;
  }

  private onJobDismissed(event: CustomEvent<{ id: number }>): void {
    this.dismissed = event.detail.id;
    sessionStorage.setItem(DISMISSED_KEY, String(event.detail.id));
  }

  /** A job the server took (202) is shown and polled; a refusal (400, 409) is shown in the server's words. */
  private async startJob(answer: Answer<{ job: Job }>): Promise<void> {
    if (!answer.ok) {
      this.notice = { error: answer.error, next: answer.next };
      if (answer.job) this.state = { ...this.state!, job: answer.job };
      await this.load();
      return;
    }
    this.notice = null;
    this.state = { ...this.state!, job: answer.body.job };
    this.pollTimer = window.setTimeout(() => void this.load(), POLL_MS);
  }

  private async onLabAction(event: CustomEvent<LabAction>): Promise<void> {
    const { action, chapter } = event.detail;
    const path = action === 'heal' ? 'heal' : `lab/${action}`;
    await this.startJob(await post<{ job: Job }>(path, chapter === undefined ? {} : { chapter }));
  }

  private async onFaultAction(event: CustomEvent<FaultAction>): Promise<void> {
    const detail = event.detail;
    if (detail.action === 'break') return this.startJob(await post<{ job: Job }>('fault/break', { id: detail.id }));
    if (detail.action === 'surprise') return this.startJob(await post<{ job: Job }>('fault/break', { random: true, component: detail.component, difficulty: detail.difficulty }));
    if (detail.action === 'giveup') {
      this.faultCheck = null;
      return this.startJob(await post<{ job: Job }>('fault/giveup'));
    }
    this.working = detail.action;
    try {
      if (detail.action === 'check') {
        const answer = await post<FaultCheck>('fault/check');
        if (answer.ok) this.faultCheck = answer.body;
        else this.notice = { error: answer.error, next: answer.next };
      } else {
        const answer = await post('fault/hint');
        if (!answer.ok) this.notice = { error: answer.error, next: answer.next };
      }
      await this.load();
    } finally {
      this.working = '';
    }
  }

  private onStepSelected(event: CustomEvent<StepSelection>): void {
    this.selected = event.detail;
    this.result = null;
    this.show('course');
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

  private onRunCommand(event: CustomEvent<RunCommand>): void {
    const { machine, shell, command } = event.detail;
    if (shell === 2) this.openSecondShell(machine);
    else this.activate(machine, 1);
    void this.updateComplete.then(() => {
      const terminal = this.renderRoot.querySelector(`machine-terminal[machine="${machine}"][shell="${shell}"]`) as MachineTerminal | null;
      terminal?.type(command.replace(/\n*$/, '\n'));
    });
  }
}

customElements.define('lab-app', LabApp);

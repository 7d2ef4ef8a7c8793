import { LitElement, css, html } from 'lit';
import { anatomyOf } from '../src/logs/anatomy.ts';
import { LogFollower } from '../src/logs/follow.ts';
import { ApiError, fetchLogs, type LogFilter, type LogLine } from './api.ts';
import { logEntry } from './log-entry.ts';

const MAX_LINES = 1000;
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'];
const POLL_MS = 2000;
const COLOURS = ['#59c2ff', '#d2a6ff', '#ffb454', '#91b362', '#39bae6', '#f07178', '#95e6cb', '#e6b673'];

/**
 * Every component's log in one time-ordered, filterable panel that follows live, as `lab logs --follow`.
 * This lab's known noise is dimmed; clicking a line explains it (its format's fields, and the catalog's word).
 */
export class LogTimeline extends LitElement {
  static override properties = { components: { attribute: false }, lines: { state: true }, filter: { state: true }, opened: { state: true }, refused: { state: true } };
  declare components: string[];
  declare private lines: LogLine[];
  /** Why the last read was refused (too many reads: the server says when to try again), until one succeeds. */
  declare private refused: string;
  declare private filter: LogFilter;
  declare private opened: LogLine | null;
  private follower = new LogFollower(Date.now() - 5 * 60_000);
  private timer?: number;
  /** Bumped by each new filter: a poll that started under an older one drops its answer, so only one loop runs. */
  private round = 0;

  static override styles = css`
    :host { display: flex; flex-direction: column; min-height: 0; border-top: 1px solid #253340; font-size: 12px; }
    form { display: flex; gap: 6px; padding: 4px 8px; align-items: center; flex-wrap: wrap; }
    form strong { color: #ffb454; margin-right: 6px; }
    select, input { font: inherit; background: #0b0e14; color: #e6e1cf; border: 1px solid #3d4b59; border-radius: 3px; padding: 1px 4px; }
    ol { list-style: none; margin: 0; padding: 0 8px 4px; overflow: auto; flex: 1; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
    li { line-height: 1.35; }
    /* Columns as wide as lab logs pads them, so entries line up; only the message wraps, keeping its line breaks. */
    .time, .machine, .component, .severity { display: inline-block; vertical-align: top; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .time { width: 12ch; color: #5c6773; }
    .machine { width: 10ch; }
    .component { width: 23ch; }
    .severity { width: 5ch; }
    .message { white-space: pre-wrap; word-break: break-word; }
    .warn { color: #ffb454; }
    .error, .fatal { color: #f07178; }
    .debug { color: #5c6773; }
    .refused { margin: 0 8px; color: #ffb454; }
    li { cursor: pointer; }
    li.noise { opacity: 0.45; }
    li[aria-expanded='true'] { background: #1a2733; }
    .explain { margin: 2px 0 6px 2ch; padding: 4px 8px; border-left: 2px solid #ffb454; color: #b3b1ad; white-space: normal; cursor: default; }
    .explain dt { color: #59c2ff; }
    .explain dd { margin: 0 0 2px 2ch; }
    .explain p { margin: 2px 0; }
  `;

  constructor() {
    super();
    this.components = [];
    this.lines = [];
    this.filter = { component: '', level: '', grep: '' };
    this.opened = null;
    this.refused = '';
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
    const round = this.round;
    const started = Date.now();
    let fresh: LogLine[];
    try {
      fresh = await fetchLogs(this.follower.since, this.filter);
    } catch (error) {
      if (round !== this.round) return;
      // The lines shown stay and nothing is skipped: the next read asks from the same moment, as late as the server said.
      this.refused = error instanceof Error ? error.message : String(error);
      const wait = error instanceof ApiError && error.retryAfterS ? Math.max(POLL_MS, error.retryAfterS * 1000) : POLL_MS;
      this.timer = window.setTimeout(() => void this.poll(), wait);
      return;
    }
    if (round !== this.round) return;
    this.refused = '';
    const added = this.follower.fresh(fresh);
    this.follower.polled(started);
    if (added.length > 0) {
      const list = this.renderRoot.querySelector('ol');
      const atBottom = !list || list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      this.lines = [...this.lines, ...added].slice(-MAX_LINES);
      if (atBottom) void this.updateComplete.then(() => list?.scrollTo({ top: list.scrollHeight }));
    }
    this.timer = window.setTimeout(() => void this.poll(), POLL_MS);
  }

  /** A new filter starts the timeline afresh from five minutes ago. */
  private refilter(change: Partial<LogFilter>): void {
    this.filter = { ...this.filter, ...change };
    this.lines = [];
    this.opened = null;
    this.follower = new LogFollower(Date.now() - 5 * 60_000);
    this.round += 1;
    window.clearTimeout(this.timer);
    void this.poll();
  }

  private toggle(line: LogLine): void {
    this.opened = this.opened === line ? null : line;
  }

  private explanation(line: LogLine) {
    const anatomy = anatomyOf(line.raw);
    const known = line.known;
    return html`<div class="explain" @click=${(e: Event) => e.stopPropagation()}>
      <p><strong>${anatomy.format}</strong> — written by ${anatomy.writers}</p>
      <dl>${anatomy.fields.map((f) => html`<dt>${f.name}: ${f.value}</dt><dd>${f.means}</dd>`)}</dl>
      ${known
        ? html`<p><strong>Means:</strong> ${known.means}</p>
            <p>${known.expected ? html`<strong>Expected here:</strong> ${known.why}` : html`<strong>Not expected in a healthy lab.</strong>`}</p>
            ${known.next ? html`<p><strong>Next:</strong> ${known.next}</p>` : ''}`
        : html`<p>hardway's log catalog does not know this message yet.</p>`}
    </div>`;
  }

  override render() {
    const colour = (component: string) => COLOURS[Math.max(0, this.components.indexOf(component)) % COLOURS.length]!;
    return html`
      <form @submit=${(e: Event) => e.preventDefault()}>
        <strong>Logs</strong>
        <select aria-label="component" @change=${(e: Event) => this.refilter({ component: (e.target as HTMLSelectElement).value })}>
          <option value="">every component</option>
          ${this.components.map((c) => html`<option value=${c}>${c}</option>`)}
        </select>
        <select aria-label="level" @change=${(e: Event) => this.refilter({ level: (e.target as HTMLSelectElement).value })}>
          <option value="">any level</option>
          ${LEVELS.map((l) => html`<option value=${l}>${l} and worse</option>`)}
        </select>
        <input aria-label="grep" placeholder="contains…" @change=${(e: Event) => this.refilter({ grep: (e.target as HTMLInputElement).value })} />
      </form>
      ${this.refused ? html`<p class="refused" role="status">${this.refused}</p>` : ''}
      <ol aria-label="log timeline">
        ${this.lines.map(
          (line) => html`<li class="${line.severity} ${line.known?.expected ? 'noise' : ''}" aria-expanded=${this.opened === line ? 'true' : 'false'}
              title=${line.known?.expected ? 'known noise in this lab: click to see why' : 'click to explain this line'} @click=${() => this.toggle(line)}
            >${logEntry(line, colour(line.component))}${this.opened === line ? this.explanation(line) : ''}</li>`,
        )}
      </ol>
    `;
  }
}

customElements.define('log-timeline', LogTimeline);

import { LitElement, css, html } from 'lit';
import { fetchLogs, type LogFilter, type LogLine } from './api.ts';

const MAX_LINES = 1000;
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'];
const COLOURS = ['#59c2ff', '#d2a6ff', '#ffb454', '#91b362', '#39bae6', '#f07178', '#95e6cb', '#e6b673'];

/** Every component's log in one time-ordered, filterable panel that follows live, as `lab logs --follow`. */
export class LogTimeline extends LitElement {
  static override properties = { components: { attribute: false }, lines: { state: true }, filter: { state: true } };
  declare components: string[];
  declare private lines: LogLine[];
  declare private filter: LogFilter;
  private since = Date.now() - 5 * 60_000;
  private timer?: number;
  private seen = new Set<string>();

  static override styles = css`
    :host { display: flex; flex-direction: column; min-height: 0; border-top: 1px solid #253340; font-size: 12px; }
    form { display: flex; gap: 6px; padding: 4px 8px; align-items: center; flex-wrap: wrap; }
    form strong { color: #ffb454; margin-right: 6px; }
    select, input { font: inherit; background: #0b0e14; color: #e6e1cf; border: 1px solid #3d4b59; border-radius: 3px; padding: 1px 4px; }
    ol { list-style: none; margin: 0; padding: 0 8px 4px; overflow: auto; flex: 1; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
    li { white-space: pre-wrap; word-break: break-word; line-height: 1.35; }
    .time { color: #5c6773; }
    .warn { color: #ffb454; }
    .error, .fatal { color: #f07178; }
    .debug { color: #5c6773; }
  `;

  constructor() {
    super();
    this.components = [];
    this.lines = [];
    this.filter = { component: '', level: '', grep: '' };
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
    const fresh = await fetchLogs(this.since, this.filter).catch(() => []);
    const added = fresh.filter((line) => {
      const key = `${line.time}|${line.machine}|${line.component}|${line.raw}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
    if (added.length > 0) {
      const list = this.renderRoot.querySelector('ol');
      const atBottom = !list || list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      this.lines = [...this.lines, ...added].slice(-MAX_LINES);
      this.since = Math.max(this.since, added[added.length - 1]!.time);
      if (atBottom) void this.updateComplete.then(() => list?.scrollTo({ top: list.scrollHeight }));
    }
    this.timer = window.setTimeout(() => void this.poll(), 2000);
  }

  /** A new filter starts the timeline afresh from five minutes ago. */
  private refilter(change: Partial<LogFilter>): void {
    this.filter = { ...this.filter, ...change };
    this.lines = [];
    this.seen.clear();
    this.since = Date.now() - 5 * 60_000;
    window.clearTimeout(this.timer);
    void this.poll();
  }

  override render() {
    const colour = (component: string) => COLOURS[Math.max(0, this.components.indexOf(component)) % COLOURS.length];
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
      <ol aria-label="log timeline">
        ${this.lines.map(
          (line) => html`<li class=${line.severity}><span class="time">${new Date(line.time).toISOString().slice(11, 23)}</span> ${line.machine}
            <span style="color: ${colour(line.component)}">${line.component}</span> ${line.severity.toUpperCase()} ${line.message}</li>`,
        )}
      </ol>
    `;
  }
}

customElements.define('log-timeline', LogTimeline);

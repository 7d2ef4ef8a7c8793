import { LitElement, css, html } from 'lit';
import { fetchTrace, fetchTraceable, type Trace, type TraceEntry, type Traceable } from './api.ts';
import './trace-swimlane.ts';

const refOf = (t: Traceable): string => `${t.kind}/${t.name}`;

/**
 * `lab trace` in the page: pick a deployment, replicaset, pod, service or node from the cluster's
 * list, or type a name; the story shows as a swimlane, and a click on an entry shows its raw record.
 */
export class TracePanel extends LitElement {
  static override properties = { items: { state: true }, ref: { state: true }, namespace: { state: true }, trace: { state: true }, error: { state: true }, busy: { state: true }, selected: { state: true }, logs: { state: true } };
  declare private items: Traceable[];
  declare private ref: string;
  declare private namespace: string;
  declare private trace: Trace | null;
  declare private error: string;
  declare private busy: boolean;
  declare private selected: TraceEntry | null;
  declare private logs: boolean;

  static override styles = css`
    :host { display: flex; flex-direction: column; gap: 6px; font-size: 13px; }
    :host > * { flex: none; }
    form { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
    select, input, button { font: inherit; background: #0b0e14; color: #e6e1cf; border: 1px solid #3d4b59; border-radius: 3px; padding: 2px 6px; }
    button { cursor: pointer; }
    .objects { color: #5c6773; }
    .error { color: #f07178; white-space: pre-wrap; }
    trace-swimlane { border: 1px solid #253340; max-height: 60vh; }
    pre { max-height: 30vh; overflow: auto; background: #0b0e14; border: 1px solid #253340; padding: 6px; margin: 0; white-space: pre-wrap; word-break: break-all; font-size: 11px; }
  `;

  constructor() {
    super();
    this.items = [];
    this.ref = '';
    this.namespace = 'default';
    this.trace = null;
    this.error = '';
    this.busy = false;
    this.selected = null;
    this.logs = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.list();
  }

  private async list(): Promise<void> {
    const answer = await fetchTraceable();
    if (answer.ok) this.items = answer.body.items;
  }

  private async run(): Promise<void> {
    if (!this.ref.trim()) return;
    this.busy = true;
    this.selected = null;
    try {
      const answer = await fetchTrace(this.ref.trim(), this.namespace);
      if (answer.ok) [this.trace, this.error] = [answer.body, ''];
      else [this.trace, this.error] = [null, `${answer.error}${answer.next ? `\nNext: ${answer.next}` : ''}`];
    } finally {
      this.busy = false;
    }
  }

  private pick(value: string): void {
    const item = this.items.find((t) => `${t.namespace ?? ''}|${refOf(t)}` === value);
    if (!item) return;
    this.ref = refOf(item);
    this.namespace = item.namespace ?? 'default';
    void this.run();
  }

  private pretty(raw: string): string {
    try {
      return JSON.stringify(JSON.parse(raw), null, 2);
    } catch {
      return raw;
    }
  }

  override render() {
    const trace = this.trace;
    return html`
      <form @submit=${(e: Event) => { e.preventDefault(); void this.run(); }}>
        <strong>Trace</strong>
        <select aria-label="resource" @focus=${() => void this.list()} @change=${(e: Event) => this.pick((e.target as HTMLSelectElement).value)}>
          <option value="">pick from the cluster…</option>
          ${this.items.map((t) => html`<option value=${`${t.namespace ?? ''}|${refOf(t)}`}>${refOf(t)}${t.namespace ? ` (${t.namespace})` : ''}</option>`)}
        </select>
        <input aria-label="kind/name" placeholder="deployment/web" .value=${this.ref} @input=${(e: Event) => (this.ref = (e.target as HTMLInputElement).value)} />
        <input aria-label="namespace" size="10" .value=${this.namespace} @input=${(e: Event) => (this.namespace = (e.target as HTMLInputElement).value)} />
        <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Tracing…' : 'Trace'}</button>
        <label><input type="checkbox" .checked=${this.logs} @change=${(e: Event) => (this.logs = (e.target as HTMLInputElement).checked)} /> log lines</label>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${trace
        ? html`<p class="objects">${trace.objects.map((o) => `${o.kind} ${o.name}${o.exists ? '' : ' (gone)'}`).join(' · ')}${trace.unreadable.length ? html`<br /><span class="error">Could not read ${trace.unreadable.join('; ')}</span>` : ''}</p>
            <trace-swimlane .trace=${trace} .selected=${this.selected} ?logs=${this.logs} @entry-selected=${(e: CustomEvent<TraceEntry>) => (this.selected = e.detail)}></trace-swimlane>
            ${this.selected ? html`<pre aria-label="raw record">${this.pretty(this.selected.raw)}</pre>` : ''}`
        : ''}
    `;
  }
}

customElements.define('trace-panel', TracePanel);

import { LitElement, css, html, svg } from 'lit';
import type { Trace, TraceEntry } from './api.ts';
import { clockOf } from '../src/trace/model.ts';

const LANE = 96;
const ROW = 22;
const TOP = 54;
const LEFT = 92;
const API_SERVER = 'kube-apiserver';
const COLOURS = ['#59c2ff', '#d2a6ff', '#ffb454', '#91b362', '#39bae6', '#95e6cb', '#e6b673'];

/**
 * A trace as a swimlane diagram: one lane per actor, time running down (one row per entry), each
 * audited write an arrow from its writer to the API server, Events and log lines dots in their
 * lane. Clicking an entry sends `entry-selected` up with it (the parent shows its raw record).
 */
export class TraceSwimlane extends LitElement {
  static override properties = { trace: { attribute: false }, logs: { type: Boolean }, selected: { attribute: false } };
  declare trace: Trace | null;
  /** Whether log lines are drawn (there are many). */
  declare logs: boolean;
  declare selected: TraceEntry | null;

  static override styles = css`
    :host { display: block; overflow: auto; font-size: 11px; }
    svg { display: block; }
    .lane-name { fill: #e6e1cf; font-size: 11px; }
    .lane { stroke: #253340; stroke-dasharray: 3 3; }
    .time { fill: #5c6773; font-family: ui-monospace, monospace; }
    .entry { cursor: pointer; }
    .entry text { fill: #b3b1ad; }
    .entry.problem text { fill: #f07178; }
    .entry[aria-selected='true'] rect.row { fill: #1a2733; }
    rect.row { fill: transparent; }
  `;

  constructor() {
    super();
    this.trace = null;
    this.logs = false;
    this.selected = null;
  }

  private select(entry: TraceEntry): void {
    this.dispatchEvent(new CustomEvent('entry-selected', { detail: entry, bubbles: true, composed: true }));
  }

  override render() {
    const trace = this.trace;
    if (!trace) return html``;
    const entries = trace.entries.filter((e) => this.logs || e.source !== 'log');
    const lanes = trace.lanes.filter((l) => l === API_SERVER || entries.some((e) => e.actor === l));
    const x = (lane: string) => LEFT + lanes.indexOf(lane) * LANE + LANE / 2;
    const textX = LEFT + lanes.length * LANE + 8;
    const width = textX + 560;
    const height = TOP + entries.length * ROW + 10;
    return html`<svg width=${width} height=${height} role="img" aria-label="trace of ${trace.target.kind}/${trace.target.name}">
      <defs><marker id="write" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#ffb454"></path></marker></defs>
      ${lanes.map((lane, i) => svg`<g data-lane=${lane}>
        <text class="lane-name" x=${x(lane)} y=${i % 2 ? 36 : 20} text-anchor="middle">${lane}</text>
        <line class="lane" x1=${x(lane)} y1=${TOP - 8} x2=${x(lane)} y2=${height}></line></g>`)}
      ${entries.map((entry, i) => {
        const y = TOP + i * ROW + ROW / 2;
        const colour = COLOURS[lanes.indexOf(entry.actor) % COLOURS.length]!;
        const from = x(entry.actor);
        const to = x(API_SERVER);
        const write = entry.source === 'audit' && from !== to;
        const mark = write
          ? svg`<line x1=${from} y1=${y} x2=${to + (to > from ? -4 : 4)} y2=${y} stroke=${entry.problem ? '#f07178' : '#ffb454'} stroke-width="1.5" marker-end="url(#write)"></line><circle cx=${from} cy=${y} r="3" fill=${colour}></circle>`
          : entry.source === 'audit'
            ? svg`<rect x=${from - 4} y=${y - 4} width="8" height="8" fill="#ffb454"></rect>`
            : svg`<circle cx=${from} cy=${y} r=${entry.source === 'log' ? 2.5 : 4} fill=${entry.problem ? '#f07178' : entry.source === 'log' ? '#5c6773' : colour}></circle>`;
        return svg`<g class="entry ${entry.problem ? 'problem' : ''}" data-source=${entry.source} data-actor=${entry.actor} data-verb=${entry.verb}
            aria-selected=${this.selected === entry ? 'true' : 'false'} @click=${() => this.select(entry)}>
          <rect class="row" x="0" y=${y - ROW / 2} width=${width} height=${ROW}></rect>
          <text class="time" x="4" y=${y + 4}>${clockOf(entry)}</text>
          ${mark}
          <text x=${textX} y=${y + 4}>${entry.summary.length > 110 ? `${entry.summary.slice(0, 109)}…` : entry.summary}</text>
          <title>${entry.actor}: ${entry.summary}</title></g>`;
      })}
    </svg>`;
  }
}

customElements.define('trace-swimlane', TraceSwimlane);

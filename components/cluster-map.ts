import { LitElement, css, html, svg } from 'lit';
import { fetchMap, type ClusterMap } from './api.ts';

/** How often the map reads the cluster while it is shown (the server shares one reading among pages). */
const POLL_MS = 5000;
const MACHINES = ['jumpbox', 'server', 'node-0', 'node-1'];
const COLUMN = 190;
const BOX = { width: 150, height: 26, gap: 10, top: 40 };
const COLOURS = { ok: '#1f3d1f', failing: '#4d1f22', unknown: '#1f2630' } as const;
const STROKES = { ok: '#91b362', failing: '#f07178', unknown: '#3d4b59' } as const;

/**
 * The live map: the four machines, the components on each coloured by their labs/health.yaml check,
 * who talks to whom, and whether the cluster has settled (every check passes, nobody writing).
 * It shows what a learner could observe, never which fault is active.
 */
export class ClusterMapView extends LitElement {
  static override properties = { map: { state: true }, error: { state: true }, chosen: { state: true } };
  declare private map: ClusterMap | null;
  declare private error: string;
  declare private chosen: string;
  private timer?: number;

  static override styles = css`
    :host { display: block; font-size: 12px; }
    .status { margin: 6px 0; font-size: 13px; }
    .status[data-settled='true'] { color: #91b362; }
    .status[data-settled='false'] { color: #ffb454; }
    svg { width: 100%; max-width: 780px; height: auto; }
    .machine { fill: #0f1419; stroke: #253340; }
    .machine-name { fill: #ffb454; font-size: 13px; }
    .box { cursor: pointer; }
    .box text { fill: #e6e1cf; font-size: 12px; pointer-events: none; }
    .link { stroke: #3d4b59; stroke-width: 1; fill: none; marker-end: url(#arrow); }
    .detail { color: #b3b1ad; min-height: 1.4em; }
    .error { color: #f07178; }
  `;

  constructor() {
    super();
    this.map = null;
    this.error = '';
    this.chosen = '';
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
    const answer = await fetchMap().catch((error: unknown) => ({ ok: false as const, status: 0, error: String(error) }));
    if (answer.ok) [this.map, this.error] = [answer.body, ''];
    else this.error = answer.error;
    if (this.isConnected) this.timer = window.setTimeout(() => void this.poll(), POLL_MS);
  }

  private position(id: string): { x: number; y: number } | null {
    const map = this.map!;
    const box = map.boxes.find((b) => b.id === id);
    if (!box) return null;
    const column = MACHINES.indexOf(box.machine);
    const row = map.boxes.filter((b) => b.machine === box.machine).indexOf(box);
    return { x: column * COLUMN + 20, y: BOX.top + row * (BOX.height + BOX.gap) };
  }

  override render() {
    if (!this.map) return html`<p class=${this.error ? 'error' : ''}>${this.error || 'Reading the cluster…'}</p>`;
    const map = this.map;
    const failing = map.boxes.filter((b) => b.state === 'failing');
    const rows = Math.max(...MACHINES.map((m) => map.boxes.filter((b) => b.machine === m).length));
    const height = BOX.top + rows * (BOX.height + BOX.gap) + 10;
    const chosen = map.boxes.find((b) => b.id === this.chosen);
    const status = map.settled
      ? 'Settled: every check passes and nobody has written for 20 s.'
      : failing.length > 0
        ? `Not healthy: ${[...new Set(failing.map((b) => b.label))].join(', ')}.`
        : map.writers.length > 0
          ? `Still converging: ${map.writers.map((w) => `${w.actor} (${w.writes} write${w.writes === 1 ? '' : 's'})`).join(', ')} in the last 20 s.`
          : 'Not settled: some checks could not be run.';
    return html`
      <p class="status" role="status" data-settled=${map.settled ? 'true' : 'false'}>${status}</p>
      <svg viewBox="0 0 ${MACHINES.length * COLUMN} ${height}" role="img" aria-label="cluster map">
        <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#3d4b59"></path></marker></defs>
        ${MACHINES.map((m, i) => svg`<rect class="machine" x=${i * COLUMN + 8} y="6" width=${COLUMN - 16} height=${height - 12} rx="6"></rect>
          <text class="machine-name" x=${i * COLUMN + 18} y="26">${m}</text>`)}
        ${map.links.map((l) => {
          const [a, b] = [this.position(l.from), this.position(l.to)];
          if (!a || !b) return '';
          const sameColumn = a.x === b.x;
          const [x1, y1] = [a.x + (sameColumn ? 0 : b.x > a.x ? BOX.width : 0), a.y + BOX.height / 2];
          const [x2, y2] = [b.x + (sameColumn ? 0 : b.x > a.x ? 0 : BOX.width), b.y + BOX.height / 2];
          const path = sameColumn ? `M${x1},${y1} C${x1 - 14},${y1} ${x2 - 14},${y2} ${x2},${y2}` : `M${x1},${y1} L${x2},${y2}`;
          return svg`<path class="link" d=${path}><title>${l.from} → ${l.to}: ${l.says}</title></path>`;
        })}
        ${map.boxes.map((b) => {
          const p = this.position(b.id)!;
          return svg`<g class="box" data-box=${b.id} data-state=${b.state} @click=${() => (this.chosen = b.id)}>
            <rect x=${p.x} y=${p.y} width=${BOX.width} height=${BOX.height} rx="4" fill=${COLOURS[b.state]} stroke=${STROKES[b.state]}></rect>
            <text x=${p.x + 8} y=${p.y + 17}>${b.label}</text><title>${b.label} on ${b.machine}: ${b.state}${b.message ? ` — ${b.message}` : ''}</title></g>`;
        })}
      </svg>
      <p class="detail">${chosen ? `${chosen.label} on ${chosen.machine}: ${chosen.state === 'ok' ? 'its check passes' : chosen.message ?? 'no check shows its state'}` : 'Click a component for what its check says.'}</p>
    `;
  }
}

customElements.define('cluster-map', ClusterMapView);

import { LitElement, css, html } from 'lit';
import type { MachineInfo } from './api.ts';

/** The lab's machines: each one's state and address. */
export class MachineStates extends LitElement {
  static override properties = { machines: { attribute: false } };
  declare machines: MachineInfo[];

  static override styles = css`
    :host { display: block; }
    table { border-collapse: collapse; font-size: 13px; width: 100%; }
    th { text-align: left; color: #5c6773; font-weight: normal; padding: 2px 8px 2px 0; }
    td { padding: 3px 8px 3px 0; }
    .running { color: #91b362; }
    .stopped { color: #ffb454; }
    .missing { color: #5c6773; }
    .description { color: #5c6773; }
  `;

  constructor() {
    super();
    this.machines = [];
  }

  override render() {
    return html`<table aria-label="machines">
      <thead><tr><th>machine</th><th>state</th><th>address</th><th></th></tr></thead>
      <tbody>
        ${this.machines.map(
          (m) => html`<tr data-machine=${m.name}>
            <td>${m.name}</td><td class=${m.state}>${m.state}</td><td>${m.ip ?? '—'}</td><td class="description">${m.description}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
  }
}

customElements.define('machine-states', MachineStates);

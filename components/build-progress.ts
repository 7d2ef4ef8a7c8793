import { LitElement, css, html } from 'lit';
import { describeBuild, RETRY } from '../src/artifacts/build-status.ts';
import type { BinariesState } from './api.ts';

/**
 * The host's build of the binaries, while it runs (which binary, of how many, as a bar) or when it
 * failed with something still missing (why, its log, what to try). Chapter 1 needs none of them;
 * a later chapter's step waits for them.
 */
export class BuildProgress extends LitElement {
  static override properties = { binaries: { attribute: false } };
  declare binaries: BinariesState | null;

  static override styles = css`
    :host { display: block; }
    section { margin: 10px 16px 0; padding: 8px 12px; border: 1px solid #3d4b59; border-radius: 4px; background: #131a21; font-size: 13px; }
    section.failed, section.interrupted { border-color: #f07178; background: #2a1a1c; }
    .line { color: #e6e1cf; }
    .why { color: #5c6773; font-size: 12px; margin-top: 2px; }
    progress { width: 100%; height: 6px; margin-top: 6px; accent-color: #ffb454; }
    .log, .next { margin-top: 4px; color: #b3b1ad; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; white-space: pre-wrap; }
  `;

  constructor() {
    super();
    this.binaries = null;
  }

  override render() {
    const build = this.binaries?.build;
    if (!build || !shown(this.binaries!)) return '';
    const running = build.state === 'building';
    return html`<section class=${build.state} role="status" aria-label="binaries" data-state=${build.state}>
      <div class="line">Binaries: ${describeBuild(build)}</div>
      ${running
        ? html`<progress max=${build.total || 1} value=${build.position}></progress>
            <div class="why">Built in the background. Chapter 1 needs none of them; a step of a later chapter waits for them.</div>`
        : html`<div class="log">Its log: ${build.log}</div><div class="next">Next: ${build.error?.next ?? RETRY}</div>`}
    </section>`;
  }
}

/** A running build, or one that ended without making what is still missing. */
export const shown = (binaries: BinariesState): boolean =>
  binaries.build?.state === 'building' || (binaries.missing.length > 0 && (binaries.build?.state === 'failed' || binaries.build?.state === 'interrupted'));

customElements.define('build-progress', BuildProgress);

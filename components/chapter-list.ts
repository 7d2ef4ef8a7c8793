import { LitElement, css, html } from 'lit';
import type { ChapterInfo } from './api.ts';

export interface StepSelection {
  chapter: number;
  step: string;
}

/** The chapters and their steps, with what has passed; choosing a step fires `step-selected`. */
export class ChapterList extends LitElement {
  static override properties = { chapters: { attribute: false }, selected: { attribute: false } };
  declare chapters: ChapterInfo[];
  declare selected: StepSelection | null;

  static override styles = css`
    :host { display: block; overflow: auto; font-size: 14px; }
    details { border-bottom: 1px solid #253340; }
    summary { cursor: pointer; padding: 8px 10px; list-style: none; display: flex; gap: 8px; }
    summary .count { margin-left: auto; color: #5c6773; font-size: 12px; }
    ol { margin: 0; padding: 0 0 8px 0; list-style: none; }
    button { all: unset; box-sizing: border-box; display: flex; gap: 8px; width: 100%; padding: 4px 10px 4px 26px; cursor: pointer; color: #b3b1ad; }
    button:hover, button:focus-visible { background: #1a2733; color: #e6e1cf; }
    button[aria-current='step'] { background: #253340; color: #ffb454; }
    .mark { width: 1em; flex: none; color: #91b362; }
  `;

  constructor() {
    super();
    this.chapters = [];
    this.selected = null;
  }

  override render() {
    return this.chapters.map((chapter) => {
      const done = chapter.steps.filter((s) => s.passed).length;
      return html`<details ?open=${this.selected?.chapter === chapter.number}>
        <summary>
          <span class="mark">${done === chapter.steps.length ? '✓' : ''}</span>
          <span>${chapter.number}. ${chapter.title}</span>
          <span class="count">${done}/${chapter.steps.length}</span>
        </summary>
        <ol>
          ${chapter.steps.map(
            (step) => html`<li>
              <button
                aria-current=${this.selected?.chapter === chapter.number && this.selected.step === step.id ? 'step' : 'false'}
                @click=${() => this.select(chapter.number, step.id)}
              >
                <span class="mark">${step.passed ? '✓' : '·'}</span>${step.title}
              </button>
            </li>`,
          )}
        </ol>
      </details>`;
    });
  }

  private select(chapter: number, step: string): void {
    this.dispatchEvent(new CustomEvent<StepSelection>('step-selected', { detail: { chapter, step }, bubbles: true, composed: true }));
  }
}

customElements.define('chapter-list', ChapterList);

import { LitElement, css, html } from 'lit';
import './room-peek.ts';

interface EngineLoad { id: number; spec: string; state: string; apiVersion: string | null; labs: number; headroomLabs: number; detail: string | null }
interface LearnerView {
  id: number; name: string; lab: string | null; engine: string | null; engineState: string | null; labState: string | null;
  job: { kind: string; title: string; state: string; line?: string } | null;
  chapter: number | null; step: string | null; stepTitle: string | null; stepsPassed: number; checksPassed: number; checksFailed: number;
  hintsUsed: number; onStepMs: number; stuck: boolean; fault: { id: string; title: string; sinceMs: number; hintsShown: number } | null; faultsFixed: number;
}
interface BoardState {
  room: { name: string; chapter: number; capacity: number; joinCode: string; endsAt: number; ended: boolean };
  engines: EngineLoad[];
  learners: LearnerView[];
  faults: { id: string; title: string; component: string; difficulty: number }[];
  chapters: { number: number; title: string }[];
  messages: { id: number; at: number; text: string }[];
}
type SortKey = 'name' | 'chapter' | 'checksPassed' | 'hintsUsed' | 'onStepMs' | 'engine';

const BOARD_TOKEN = 'hardway-board-token';
const POLL_MS = 1000;
const minutes = (ms: number): string => (ms < 60_000 ? `${Math.floor(ms / 1000)} s` : `${Math.floor(ms / 60_000)} min`);

/**
 * The room's pages: at / the join form (code and name, then on to the learner's own lab); at /board
 * the instructor's board (with the instructor's token), updating every second.
 */
export class RoomApp extends LitElement {
  static override properties = {
    board: { state: true }, error: { state: true }, joining: { state: true }, selected: { state: true },
    sort: { state: true }, peek: { state: true }, notice: { state: true },
  };
  declare private board: BoardState | null;
  declare private error: string;
  declare private joining: boolean;
  declare private selected: Set<number>;
  declare private sort: SortKey;
  declare private peek: { learner: number; name: string; machine: string } | null;
  declare private notice: string;
  private token = '';
  private timer?: number;

  static override styles = css`
    :host { display: block; padding: 16px 24px; }
    h1 { color: #ffb454; font-size: 20px; margin: 0 0 12px; }
    form.join { display: flex; flex-direction: column; gap: 10px; max-width: 320px; margin-top: 40px; }
    input, select, button, textarea { font: inherit; padding: 6px 10px; background: #1f2a35; color: #e6e1cf; border: 1px solid #3e4b59; border-radius: 4px; }
    button { cursor: pointer; }
    button.primary { background: #ffb454; color: #0f1419; border: none; }
    button.danger { border-color: #f07178; color: #f07178; }
    .error { color: #f07178; white-space: pre-wrap; }
    .notice { color: #c2d94c; }
    table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 10px 0; }
    th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #253340; }
    th { cursor: pointer; color: #5c6773; font-weight: normal; }
    tr.stuck td { background: #2a1a1c; }
    .fault { color: #f07178; }
    .bar { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 8px 0; }
    .engines { display: flex; gap: 12px; flex-wrap: wrap; font-size: 13px; }
    .engine { border: 1px solid #253340; border-radius: 4px; padding: 4px 8px; }
    .engine.down { border-color: #f07178; color: #f07178; }
    .code { font-size: 28px; letter-spacing: 4px; color: #ffb454; }
    room-peek { height: 320px; display: block; margin-top: 8px; }
  `;

  constructor() {
    super();
    this.board = null;
    this.error = '';
    this.joining = false;
    this.selected = new Set();
    this.sort = 'name';
    this.peek = null;
    this.notice = '';
  }

  private get isBoard(): boolean {
    return location.pathname.startsWith('/board');
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this.isBoard) return;
    const fromUrl = new URLSearchParams(location.search).get('token');
    if (fromUrl) {
      sessionStorage.setItem(BOARD_TOKEN, fromUrl);
      history.replaceState(null, '', location.pathname);
    }
    this.token = fromUrl ?? sessionStorage.getItem(BOARD_TOKEN) ?? '';
    void this.poll();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearTimeout(this.timer);
  }

  private async call(method: 'GET' | 'POST', path: string, body?: object): Promise<Record<string, unknown>> {
    const response = await fetch(path, { method, headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const parsed = (await response.json().catch(() => ({ error: `the server answered ${response.status}` }))) as Record<string, unknown>;
    if (!response.ok) throw new Error(String(parsed.error ?? response.status) + (parsed.next ? `\nNext: ${String(parsed.next)}` : ''));
    return parsed;
  }

  private async poll(): Promise<void> {
    try {
      this.board = (await this.call('GET', '/board/api/state')) as unknown as BoardState;
      this.error = '';
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    this.timer = window.setTimeout(() => void this.poll(), POLL_MS);
  }

  private async act(what: () => Promise<Record<string, unknown>>, done: (answer: Record<string, unknown>) => string): Promise<void> {
    try {
      this.notice = done(await what());
      this.error = '';
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  // --- join ----------------------------------------------------------------------------------------

  private async onJoin(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    this.joining = true;
    try {
      const response = await fetch('/room/api/join', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: form.get('code'), name: form.get('name') }) });
      const answer = (await response.json()) as { url?: string; error?: string };
      if (!response.ok || !answer.url) throw new Error(answer.error ?? `the server answered ${response.status}`);
      location.assign(answer.url);
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      this.joining = false;
    }
  }

  override render() {
    return this.isBoard ? this.renderBoard() : this.renderJoin();
  }

  private renderJoin() {
    return html`<h1>hardway · join the room</h1>
      <form class="join" @submit=${this.onJoin}>
        <label>Join code <input name="code" required autocomplete="off" autocapitalize="characters" maxlength="12" /></label>
        <label>Your name <input name="name" required maxlength="40" /></label>
        <button class="primary" type="submit" ?disabled=${this.joining}>${this.joining ? 'Joining…' : 'Join'}</button>
        ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : ''}
      </form>`;
  }

  // --- board ---------------------------------------------------------------------------------------

  private sorted(learners: LearnerView[]): LearnerView[] {
    const key = this.sort;
    return [...learners].sort((a, b) => {
      const x = a[key] ?? '';
      const y = b[key] ?? '';
      return typeof x === 'number' && typeof y === 'number' ? y - x : String(x).localeCompare(String(y));
    });
  }

  private toggle(id: number): void {
    const next = new Set(this.selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    this.selected = next;
  }

  private breakFault(all: boolean): void {
    const select = this.renderRoot.querySelector<HTMLSelectElement>('select[name="fault"]')!;
    const learners = all ? 'all' : [...this.selected];
    void this.act(
      () => this.call('POST', '/board/api/break', { learners, ...(select.value ? { id: select.value } : {}) }),
      (answer) => {
        const { started, refused } = answer as { started: string[]; refused: { learner: string; error: string }[] };
        return `Breaking for ${started.length ? started.join(', ') : 'nobody'}${refused.length ? `; not for ${refused.map((r) => `${r.learner} (${r.error})`).join(', ')}` : ''}`;
      },
    );
  }

  private renderBoard() {
    const board = this.board;
    if (!board) return html`<h1>hardway · board</h1>${this.error ? html`<div class="error" role="alert">${this.error}</div>` : html`<p>Loading…</p>`}`;
    const th = (key: SortKey, label: string) => html`<th @click=${() => (this.sort = key)} aria-sort=${this.sort === key ? 'descending' : 'none'}>${label}</th>`;
    return html`<h1>hardway · room ${board.room.name} ${board.room.ended ? '(ended)' : ''}</h1>
      <div class="bar">Join code: <span class="code" data-testid="join-code">${board.room.joinCode}</span>
        <span>chapter ${board.room.chapter} · ${board.learners.length}/${board.room.capacity} learners · ends ${new Date(board.room.endsAt).toLocaleTimeString()}</span></div>
      <div class="engines">${board.engines.map((e) => html`<span class="engine ${e.state}" data-engine=${e.spec}>${e.spec}: ${e.state}${e.apiVersion ? ` (API ${e.apiVersion})` : ''} · ${e.labs} labs · room for ${e.headroomLabs} more</span>`)}</div>
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : ''}${this.notice ? html`<div class="notice" role="status">${this.notice}</div>` : ''}
      <table>
        <thead><tr><th></th>${th('name', 'learner')}${th('engine', 'engine')}${th('chapter', 'chapter / step')}${th('checksPassed', 'checks')}${th('hintsUsed', 'hints')}${th('onStepMs', 'on step')}<th>fault</th><th>lab</th><th></th></tr></thead>
        <tbody>${this.sorted(board.learners).map(
          (l) => html`<tr class=${l.stuck ? 'stuck' : ''} data-learner=${l.name}>
            <td><input type="checkbox" aria-label="select ${l.name}" .checked=${this.selected.has(l.id)} @change=${() => this.toggle(l.id)} /></td>
            <td>${l.name}</td><td>${l.engine ?? ''}${l.engineState === 'down' ? html` <span class="fault">(down)</span>` : ''}</td>
            <td class="position">${l.chapter ?? '–'} / ${l.stepTitle ?? (l.chapter ? 'chapter done' : '–')}</td>
            <td class="checks">${l.checksPassed} passed${l.checksFailed ? `, ${l.checksFailed} failed` : ''}</td><td class="hints">${l.hintsUsed}</td>
            <td>${minutes(l.onStepMs)}${l.stuck ? ' · stuck' : ''}</td>
            <td class="fault">${l.fault ? `${l.fault.id} (${minutes(l.fault.sinceMs)}, ${l.fault.hintsShown} hints)` : l.faultsFixed ? html`<span class="notice">${l.faultsFixed} fixed</span>` : ''}</td>
            <td class="lab">${l.job?.state === 'running' ? `${l.job.title}: ${l.job.line ?? ''}` : (l.labState ?? '')}</td>
            <td><button @click=${() => (this.peek = { learner: l.id, name: l.name, machine: 'jumpbox' })}>Peek</button>
              <button @click=${() => this.resetLearner(l)}>Reset</button></td>
          </tr>`,
        )}</tbody>
      </table>
      <div class="bar">
        <select name="fault" aria-label="fault"><option value="">a random fault each</option>${board.faults.map((f) => html`<option value=${f.id}>${f.id}: ${f.title}</option>`)}</select>
        <button ?disabled=${this.selected.size === 0} @click=${() => this.breakFault(false)}>Break for selected</button>
        <button @click=${() => this.breakFault(true)}>Break for everyone</button>
        <select name="chapter" aria-label="reset chapter">${board.chapters.map((c) => html`<option value=${c.number} ?selected=${c.number === board.room.chapter}>${c.number}. ${c.title}</option>`)}</select>
      </div>
      <div class="bar">
        <input name="message" aria-label="message" placeholder="A message to everyone" size="50" maxlength="2000" />
        <button @click=${this.sendMessage}>Send to everyone</button>
        <button @click=${() => void this.act(() => this.call('POST', '/board/api/extend', { minutes: 30 }), () => 'Extended by 30 minutes')}>Extend 30 min</button>
        <a href="#" @click=${this.exportCsv}>Export CSV</a>
        <button class="danger" @click=${this.endRoom}>End the room</button>
      </div>
      ${this.peek
        ? html`<div class="bar">Peeking (read-only) at ${this.peek.name}'s
            <select aria-label="peek machine" @change=${(e: Event) => (this.peek = { ...this.peek!, machine: (e.target as HTMLSelectElement).value })}>
              ${['jumpbox', 'server', 'node-0', 'node-1'].map((m) => html`<option ?selected=${m === this.peek!.machine}>${m}</option>`)}</select>
            <button @click=${() => (this.peek = null)}>Close</button></div>
            <room-peek .token=${this.token} .learner=${this.peek.learner} .machine=${this.peek.machine}></room-peek>`
        : ''}`;
  }

  private resetLearner(learner: LearnerView): void {
    const chapter = Number(this.renderRoot.querySelector<HTMLSelectElement>('select[name="chapter"]')!.value);
    if (!confirm(`Reset ${learner.name}'s lab to the start of chapter ${chapter}? Their machines are replaced.`)) return;
    void this.act(() => this.call('POST', '/board/api/reset', { learner: learner.id, chapter }), () => `Resetting ${learner.name}'s lab to chapter ${chapter}`);
  }

  private sendMessage(): void {
    const input = this.renderRoot.querySelector<HTMLInputElement>('input[name="message"]')!;
    void this.act(() => this.call('POST', '/board/api/message', { text: input.value }), () => {
      input.value = '';
      return 'Message sent';
    });
  }

  private async exportCsv(event: Event): Promise<void> {
    event.preventDefault();
    const response = await fetch('/board/api/export?format=csv', { headers: { Authorization: `Bearer ${this.token}` } });
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement('a'), { href: url, download: `${this.board?.room.name ?? 'room'}.csv` });
    link.click();
    URL.revokeObjectURL(url);
  }

  private endRoom(): void {
    if (!confirm('End the room? Every lab is removed, on every engine.')) return;
    void this.act(() => this.call('POST', '/board/api/end', {}), (answer) => `The room has ended: ${(answer.labs as unknown[]).length} labs removed`);
  }
}

customElements.define('room-app', RoomApp);

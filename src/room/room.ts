import { LabEngine, REAL_SETUP, type Course, type LabSetup } from '../engine/lab.ts';
import { clearProgress, passedAt, stepKey } from '../engine/progress.ts';
import { LabError } from '../util/errors.ts';
import { Progress } from '../util/output.ts';
import { RateLimiter } from '../util/rate-limit.ts';
import { LabApi, type ApiAnswer } from '../web/api.ts';
import { TerminalRegistry } from '../web/terminals.ts';
import type { MachineProvider, Terminal } from '../../vm/provider.ts';
import { placeLab, labMemory, headroom, type EngineFacts, type RoomEngine } from './engines.ts';
import { hashToken, newToken, sameHash, type EventRow, type LabRow, type LearnerRow, type RoomRow, type RoomStore } from './store.ts';

/** How much of a machine's terminal output a peek starts with. */
const PEEK_BACKLOG_BYTES = 64 * 1024;

/** Terminal output of one lab, by machine, for the instructor's read-only peek. */
export class PeekHub {
  private readonly recent = new Map<string, Buffer[]>();
  private readonly watchers = new Map<string, Set<(data: Buffer) => void>>();

  received(machine: string, data: Buffer): void {
    const list = this.recent.get(machine) ?? [];
    list.push(data);
    let size = list.reduce((sum, b) => sum + b.length, 0);
    while (size > PEEK_BACKLOG_BYTES && list.length > 1) size -= list.shift()!.length;
    this.recent.set(machine, list);
    for (const watch of this.watchers.get(machine) ?? []) watch(data);
  }

  /** What the machine's terminals printed lately, then everything they print until the returned function is called. */
  watch(machine: string, watcher: (data: Buffer) => void): () => void {
    const backlog = Buffer.concat(this.recent.get(machine) ?? []);
    if (backlog.length) watcher(backlog);
    const set = this.watchers.get(machine) ?? new Set();
    set.add(watcher);
    this.watchers.set(machine, set);
    return () => set.delete(watcher);
  }
}

/** The same provider, with every terminal's output also sent to the lab's peek hub. */
function tapTerminals(provider: MachineProvider, hub: PeekHub): MachineProvider {
  return new Proxy(provider, {
    get(target, property, receiver) {
      if (property !== 'terminal') {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      return async (...args: Parameters<MachineProvider['terminal']>): Promise<Terminal> => {
        const terminal = await target.terminal(...args);
        const machine = args[1];
        terminal.stream.on('data', (data: Buffer) => hub.received(machine, data));
        return terminal;
      };
    },
  });
}

/** One lab of the room, live: its engine, its API (the same routes as lab serve), its shells. */
export interface LabRuntime {
  row: LabRow;
  engine: RoomEngine;
  lab: LabEngine;
  api: LabApi;
  terminals: TerminalRegistry;
  peek: PeekHub;
}

export interface RoomOptions {
  setup?: LabSetup;
  /** No progress for this long and a learner counts as stuck. */
  stuckMs?: number;
  /** How long a shell waits for its browser. */
  orphanMs?: number;
  limiter?: RateLimiter;
  now?: () => number;
  log?: (line: string) => void;
}

export interface JoinResult {
  token: string;
  learner: LearnerRow;
  lab: LabRow;
}

export interface LearnerView {
  id: number;
  name: string;
  lab: string | null;
  engine: string | null;
  engineState: string | null;
  labState: string | null;
  job: { kind: string; title: string; state: string; line?: string } | null;
  chapter: number | null;
  step: string | null;
  stepTitle: string | null;
  stepsPassed: number;
  /** Each passed step (chapter/step) and when it first passed (ISO 8601), null when that time was not kept. */
  passedAt: Record<string, string | null>;
  checksPassed: number;
  checksFailed: number;
  hintsUsed: number;
  onStepMs: number;
  stuck: boolean;
  fault: { id: string; title: string; hidden: boolean; sinceMs: number; hintsShown: number } | null;
  faultsFixed: number;
  lastSeenMs: number;
}

const DEFAULT_STUCK_MS = 10 * 60_000;
/** Joins one address may make (a burst, then a steady rate), and all addresses together: a flood is refused with the seconds to wait. */
const JOIN_LIMITS = { perKey: { burst: 5, perMinute: 5 }, all: { burst: 40, perMinute: 120 } };
const PASSING_KINDS = new Set(['check', 'solve', 'fault-fixed']);

/**
 * A room, running: its labs on its engines, its learners, and what the board shows. All state that
 * must outlive the process is in the store (SQLite); what is here is rebuilt from it on start.
 */
export class Room {
  readonly labs = new Map<string, LabRuntime>();
  private readonly facts = new Map<number, EngineFacts>();
  private readonly setup: LabSetup;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  readonly limiter: RateLimiter;
  private ending: Promise<void> | null = null;
  private closed = false;
  /** Per engine, the first lab this process makes there: it keeps a snapshot the engine's later labs start from. */
  private readonly seeds = new Map<number, Promise<unknown>>();

  constructor(
    readonly store: RoomStore,
    private roomRow: RoomRow,
    readonly course: Course,
    readonly engines: RoomEngine[],
    private readonly options: RoomOptions = {},
  ) {
    this.setup = options.setup ?? REAL_SETUP;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.limiter = options.limiter ?? new RateLimiter(JOIN_LIMITS);
  }

  get row(): RoomRow {
    return this.roomRow;
  }

  private reload(): RoomRow {
    this.roomRow = this.store.roomById(this.roomRow.id)!;
    return this.roomRow;
  }

  get ended(): boolean {
    return this.reload().ended_at !== null;
  }

  /** Probes the engines, brings back the labs the store knows (continuing those that were being made), and pre-warms. */
  async start(): Promise<void> {
    await this.refreshEngines();
    for (const row of this.store.labs(this.roomRow.id)) {
      const runtime = this.runtime(row);
      if (row.state === 'building' && !this.ended) this.build(runtime);
    }
    if (!this.ended) this.prewarm();
  }

  /** Asks every engine how it is; an engine that stops or starts answering is an event on the board. */
  async refreshEngines(): Promise<void> {
    await Promise.all(
      this.engines.map(async (engine) => {
        const facts = await engine.probe();
        const before = this.facts.get(engine.id);
        this.facts.set(engine.id, facts);
        this.store.setEngineState(engine.id, facts.reachable ? 'up' : 'down', { apiVersion: facts.apiVersion, memoryBytes: facts.memoryBytes, detail: facts.detail }, this.now());
        if (before && before.reachable !== facts.reachable) {
          this.store.addEvent({ roomId: this.roomRow.id, kind: facts.reachable ? 'engine-up' : 'engine-down', detail: { engine: engine.spec, detail: facts.detail } }, this.now());
          this.log(`room ${this.roomRow.name}: engine ${engine.spec} ${facts.reachable ? 'answers again' : `went away: ${facts.detail ?? ''}`}`);
        }
      }),
    );
  }

  engineUp(id: number): boolean {
    return this.facts.get(id)?.reachable === true;
  }

  private limitsPerMachine(): number {
    return this.store.limits(this.roomRow).memoryBytes;
  }

  /** Each engine with its labs and load, for the board. */
  engineLoads(): { id: number; spec: string; state: string; apiVersion: string | null; labs: number; memoryBytes: number | null; headroomLabs: number; detail: string | null }[] {
    const labs = this.store.labs(this.roomRow.id);
    return this.engines.map((engine) => {
      const facts = this.facts.get(engine.id) ?? { reachable: false };
      const count = labs.filter((l) => l.engine_id === engine.id).length;
      const room = headroom({ engine, facts, labs: count }, this.limitsPerMachine());
      return {
        id: engine.id,
        spec: engine.spec,
        state: facts.reachable ? 'up' : 'down',
        apiVersion: facts.apiVersion ?? null,
        labs: count,
        memoryBytes: facts.memoryBytes ?? null,
        headroomLabs: Number.isFinite(room) ? Math.max(0, Math.floor(room / labMemory(this.limitsPerMachine()))) : 0,
        detail: facts.detail ?? null,
      };
    });
  }

  private runtime(row: LabRow): LabRuntime {
    const existing = this.labs.get(row.name);
    if (existing) {
      existing.row = row;
      return existing;
    }
    const engine = this.engines.find((e) => e.id === row.engine_id);
    if (!engine) throw new Error(`internal: lab ${row.name} is on engine ${row.engine_id}, which the room does not have`);
    const peek = new PeekHub();
    const provider = tapTerminals(engine.provider, peek);
    const lab = new LabEngine(provider, row.name, this.course, this.setup);
    const runtime: LabRuntime = { row, engine, lab, api: new LabApi(lab), terminals: new TerminalRegistry(provider, row.name, this.options.orphanMs), peek };
    this.labs.set(row.name, runtime);
    return runtime;
  }

  /** A new lab on the engine with the most headroom, being made at the room's chapter. */
  private newLab(): LabRuntime {
    const labs = this.store.labs(this.roomRow.id);
    if (labs.length >= this.roomRow.capacity) throw new LabError(`the room is full (${this.roomRow.capacity} labs)`, 'ask the instructor');
    const loads = this.engines.map((engine) => ({ engine, facts: this.facts.get(engine.id) ?? { reachable: false }, labs: labs.filter((l) => l.engine_id === engine.id).length }));
    const engine = placeLab(loads, this.limitsPerMachine());
    return this.runtime(this.store.addLab(this.roomRow.id, engine.id, this.roomRow.chapter, this.now()));
  }

  /** Makes labs until the room has as many as it should pre-warm. */
  prewarm(): void {
    for (let made = this.store.labs(this.roomRow.id).length; made < Math.min(this.roomRow.prewarm, this.roomRow.capacity); made += 1) {
      let runtime: LabRuntime;
      try {
        runtime = this.newLab();
      } catch (error) {
        this.log(`room ${this.roomRow.name}: cannot pre-warm more labs: ${(error as Error).message}`);
        return;
      }
      this.build(runtime);
    }
  }

  /**
   * Starts (or continues) making a lab at the room's chapter, as the page's Start button would: a job with progress, shown at once.
   * The first lab on each engine replays the chapters and keeps a snapshot (unless one matches already); the
   * engine's other labs wait for it and restore that snapshot, which is much cheaper than replaying them all at once.
   */
  private build(runtime: LabRuntime): void {
    const { chapter } = runtime.row;
    const engineId = runtime.engine.id;
    const seed = this.seeds.get(engineId);
    let job;
    try {
      job = runtime.api.jobs.start('up', `Making your lab at chapter ${chapter}`, async () => {
        if (seed) {
          const waiting = new Progress('lab');
          waiting.update("waiting for the room's first lab on this engine to keep a snapshot to start from");
          await seed.catch(() => undefined);
          waiting.done("the room's first lab on this engine is made: starting from its snapshot (or replaying, if none was kept)");
        }
        await runtime.lab.up(chapter, { keepSnapshot: !seed });
        return { chapter };
      }, { chapter, fresh: true });
    } catch (error) {
      this.log(`room ${this.roomRow.name}: lab ${runtime.row.name} not started: ${(error as Error).message}`);
      return;
    }
    if (!seed) this.seeds.set(engineId, runtime.api.jobs.settled());
    void runtime.api.jobs.settled().then((view) => {
      if (this.closed || view?.id !== job.id) return;
      const row = this.store.labById(runtime.row.id);
      if (!row || row.state === 'removed' || this.ended) return;
      if (view.state === 'done') this.store.setLabState(row.id, 'ready', null, this.now());
      else this.store.setLabState(row.id, 'failed', view.error?.error ?? 'unknown', this.now());
      runtime.row = this.store.labById(row.id)!;
    });
  }

  /**
   * A learner joins with the room's code and a display name: they get a token and a lab (a
   * pre-warmed one if any is free, else one made now). `client` is who is asking (their address),
   * for the rate limit.
   */
  join(code: string, name: string, client: string): JoinResult {
    const wait = this.limiter.take(client);
    if (wait !== null) throw new JoinRefused(429, `too many joins: try again in ${wait} s`);
    if (this.ended) throw new JoinRefused(410, 'this room has ended');
    if (this.now() > this.roomRow.ends_at) throw new JoinRefused(410, 'this room is over (its time ran out)');
    if (typeof code !== 'string' || code.trim().toUpperCase() !== this.roomRow.join_code) throw new JoinRefused(403, 'that is not the join code of this room');
    const display = typeof name === 'string' ? name.trim().replace(/\s+/g, ' ') : '';
    if (!display || display.length > 40 || /[\u0000-\u001f\u007f<>]/.test(display)) throw new JoinRefused(400, 'a name is 1 to 40 characters (no < or >)');
    const token = newToken();
    let made: LabRuntime | null = null;
    let learner: LearnerRow;
    try {
      learner = this.store.addLearner(
        this.roomRow.id,
        display,
        hashToken(token),
        () => {
          const free = this.store.freeLabs(this.roomRow.id).find((l) => this.engineUp(l.engine_id));
          if (free) return free.id;
          made = this.newLab();
          return made.row.id;
        },
        this.now(),
      );
    } catch (error) {
      if (error instanceof LabError) throw new JoinRefused(503, error.message);
      throw error;
    }
    if (made) this.build(made);
    const lab = this.store.labById(learner.lab_id!)!;
    this.store.addEvent({ roomId: this.roomRow.id, learnerId: learner.id, labId: lab.id, kind: 'join', chapter: lab.chapter, detail: { prewarmed: !made } }, this.now());
    return { token, learner, lab };
  }

  /** The learner a token belongs to, if it is one of this room's. */
  learnerOf(token: string | null | undefined): LearnerRow | undefined {
    const learner = token ? this.store.learnerByToken(token) : undefined;
    return learner?.room_id === this.roomRow.id ? learner : undefined;
  }

  isInstructor(token: string | null | undefined): boolean {
    return !!token && sameHash(hashToken(token), this.reload().instructor_token_hash);
  }

  /** The lab a learner's token opens, when it is exactly `labName`. */
  labFor(token: string | null | undefined, labName: string): { learner: LearnerRow; runtime: LabRuntime } | null {
    const learner = this.learnerOf(token);
    if (!learner?.lab_id) return null;
    const row = this.store.labById(learner.lab_id);
    if (!row || row.name !== labName || row.state === 'removed') return null;
    return { learner, runtime: this.runtime(row) };
  }

  /** A learner's call to their lab's API, recorded in the room's history. */
  async learnerCall(learner: LearnerRow, runtime: LabRuntime, method: string, path: string, query: URLSearchParams, body: Record<string, unknown>): Promise<ApiAnswer> {
    this.store.touchLearner(learner.id, this.now());
    if (!this.engineUp(runtime.engine.id)) {
      return { status: 503, body: { error: `the Docker engine your lab runs on (${runtime.engine.spec}) is not answering`, next: 'the instructor sees it on the board; wait, or ask them' } };
    }
    const answer = await runtime.api.handle(method, path, query, body);
    if (method === 'POST') this.record(learner, runtime, path, body, answer);
    return answer;
  }

  private record(learner: LearnerRow, runtime: LabRuntime, path: string, body: Record<string, unknown>, answer: ApiAnswer): void {
    const base = { roomId: this.roomRow.id, learnerId: learner.id, labId: runtime.row.id };
    const result = answer.body as { passed?: boolean; fixed?: { id: string } };
    const chapter = typeof body.chapter === 'number' ? body.chapter : null;
    const step = typeof body.step === 'string' ? body.step : null;
    const at = this.now();
    if (answer.status >= 400) return;
    if (path === '/api/check' || path === '/api/solve') this.store.addEvent({ ...base, kind: path === '/api/check' ? 'check' : 'solve', chapter, step, passed: result.passed === true }, at);
    else if (path === '/api/hint') this.store.addEvent({ ...base, kind: 'hint', chapter, step }, at);
    else if (path === '/api/fault/check') this.store.addEvent({ ...base, kind: result.passed ? 'fault-fixed' : 'fault-check', passed: result.passed === true, detail: result.fixed ?? null }, at);
    else if (path === '/api/fault/hint') this.store.addEvent({ ...base, kind: 'hint', detail: { fault: true } }, at);
    else if (path === '/api/fault/giveup') this.store.addEvent({ ...base, kind: 'fault-giveup' }, at);
    else if (path === '/api/fault/break') this.store.addEvent({ ...base, kind: 'fault-break', detail: { by: 'learner' } }, at);
    else if (path === '/api/lab/reset') this.store.addEvent({ ...base, kind: 'reset', chapter, detail: { by: 'learner' } }, at);
  }

  // --- the board ---------------------------------------------------------------------------------

  learnerViews(): LearnerView[] {
    const now = this.now();
    const stuckMs = this.options.stuckMs ?? DEFAULT_STUCK_MS;
    const events = this.store.events(this.roomRow.id);
    return this.store.learners(this.roomRow.id).map((learner) => {
      const mine = events.filter((e) => e.learner_id === learner.id);
      const row = learner.lab_id ? this.store.labById(learner.lab_id) : undefined;
      const runtime = row && row.state !== 'removed' ? this.runtime(row) : undefined;
      const engineUp = runtime ? this.engineUp(runtime.engine.id) : false;
      let progress = null;
      try {
        progress = runtime ? runtime.lab.progress() : null;
      } catch {
        progress = null;
      }
      const chapter = progress ? this.course.chapters.find((c) => c.number === progress.chapter) : undefined;
      const step = chapter?.steps.find((s) => !progress!.passed.includes(stepKey(chapter.number, s.id)));
      const lastMove = lastAt(mine, (e) => e.kind === 'join' || e.kind === 'reset' || (PASSING_KINDS.has(e.kind) && e.passed === 1)) ?? learner.joined_at;
      const since = Math.max(lastMove, row?.ready_at ?? 0);
      const active = runtime?.lab.activeFault() ?? null;
      const brokeAt = lastAt(mine, (e) => e.kind === 'fault-break');
      const job = runtime?.api.jobs.view() ?? null;
      return {
        id: learner.id,
        name: learner.name,
        lab: row?.name ?? null,
        engine: runtime?.engine.spec ?? null,
        engineState: runtime ? (engineUp ? 'up' : 'down') : null,
        labState: row?.state ?? null,
        job: job ? { kind: job.kind, title: job.title, state: job.state, line: job.lines.at(-1)?.text } : null,
        chapter: progress?.chapter ?? null,
        step: step?.id ?? null,
        stepTitle: step?.title ?? null,
        stepsPassed: progress?.passed.length ?? 0,
        passedAt: progress ? Object.fromEntries(progress.passed.map((key) => [key, passedAt(progress!, key)])) : {},
        checksPassed: mine.filter((e) => e.kind === 'check' && e.passed === 1).length,
        checksFailed: mine.filter((e) => e.kind === 'check' && e.passed === 0).length,
        hintsUsed: mine.filter((e) => e.kind === 'hint').length,
        onStepMs: now - since,
        stuck: row?.state === 'ready' && now - since > stuckMs,
        fault: active ? { id: active.fault.id, title: active.fault.title, hidden: active.state.hidden, sinceMs: brokeAt ? now - brokeAt : 0, hintsShown: active.state.hintsShown } : null,
        faultsFixed: mine.filter((e) => e.kind === 'fault-fixed').length,
        lastSeenMs: now - learner.last_seen_at,
      };
    });
  }

  private runtimeOfLearner(id: number): { learner: LearnerRow; runtime: LabRuntime } {
    const learner = this.store.learnerById(id);
    if (!learner || learner.room_id !== this.roomRow.id || !learner.lab_id) throw new LabError(`no learner ${id} in this room`, 'the board lists them');
    const row = this.store.labById(learner.lab_id);
    if (!row || row.state === 'removed') throw new LabError(`learner ${learner.name} has no lab`, 'reset it to a chapter');
    return { learner, runtime: this.runtime(row) };
  }

  /**
   * Breaks a fault in the labs of the given learners (all of them when none are named): one fault
   * by id for everyone, or a random one each. The learner is told the symptom, never the name.
   */
  breakFor(learnerIds: number[] | 'all', request: { id?: string }): { started: string[]; refused: { learner: string; error: string }[] } {
    if (request.id && !this.course.faults.some((f) => f.id === request.id)) throw new LabError(`there is no fault "${request.id}"`, 'the board lists them');
    const ids = learnerIds === 'all' ? this.store.learners(this.roomRow.id).filter((l) => l.lab_id).map((l) => l.id) : learnerIds;
    const started: string[] = [];
    const refused: { learner: string; error: string }[] = [];
    for (const id of ids) {
      let target: { learner: LearnerRow; runtime: LabRuntime };
      try {
        target = this.runtimeOfLearner(id);
      } catch (error) {
        refused.push({ learner: String(id), error: (error as Error).message });
        continue;
      }
      const { learner, runtime } = target;
      try {
        if (!this.engineUp(runtime.engine.id)) throw new LabError('its engine is not answering');
        if (runtime.lab.activeFault()) throw new LabError('it already has a fault to fix');
        runtime.api.jobs.start('break', 'The instructor is breaking your cluster', async () => {
          // The instructor's pick is a surprise to the learner, like a random one.
          const fault = await runtime.lab.breakCluster({ id: request.id, hidden: true });
          this.store.addEvent({ roomId: this.roomRow.id, learnerId: learner.id, labId: runtime.row.id, kind: 'fault-break', detail: { by: 'instructor', fault: fault.id } }, this.now());
          return { hidden: true, symptom: fault.symptom };
        }, { hidden: true });
        started.push(learner.name);
      } catch (error) {
        refused.push({ learner: learner.name, error: (error as Error).message });
      }
    }
    return { started, refused };
  }

  /** Resets a learner's lab to the start of a chapter (a job on their page). */
  async resetLearner(id: number, chapter: number): Promise<ApiAnswer> {
    const { learner, runtime } = this.runtimeOfLearner(id);
    const answer = await runtime.api.handle('POST', '/api/lab/reset', new URLSearchParams(), { chapter });
    if (answer.status === 202) this.store.addEvent({ roomId: this.roomRow.id, learnerId: learner.id, labId: runtime.row.id, kind: 'reset', chapter, detail: { by: 'instructor' } }, this.now());
    return answer;
  }

  /** The lab a learner works in, for a peek at its terminals. */
  peekOf(id: number): LabRuntime {
    return this.runtimeOfLearner(id).runtime;
  }

  message(text: string): void {
    const clean = typeof text === 'string' ? text.trim() : '';
    if (!clean || clean.length > 2000) throw new LabError('a message is 1 to 2000 characters');
    this.store.addMessage(this.roomRow.id, clean, this.now());
  }

  extend(minutes: number): void {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 24 * 60) throw new LabError('extend by 1 to 1440 minutes');
    this.store.extend(this.roomRow.id, minutes * 60_000);
    this.reload();
  }

  /**
   * Ends the room: every lab it made is removed, on every engine, including labs still being made
   * (removed again once their build gives up). Labs on an engine that is away are retried when it
   * answers; what could not be removed is said.
   */
  end(): Promise<void> {
    this.ending ??= (async () => {
      this.store.endRoom(this.roomRow.id, this.now());
      this.reload();
      const rows = this.store.labs(this.roomRow.id);
      await Promise.all(
        rows.map(async (row) => {
          const runtime = this.runtime(row);
          runtime.terminals.closeAll(1001, 'the room has ended');
          const remove = async (): Promise<void> => {
            await runtime.engine.provider.deleteLab(row.name);
          };
          try {
            await remove();
            // A build still running may create what was just removed: wait for it to stop, then remove again.
            await runtime.api.jobs.settled();
            await remove();
            clearProgress(row.name);
            this.store.setLabState(row.id, 'removed', null, this.now());
          } catch (error) {
            this.store.setLabState(row.id, 'failed', `not removed: ${(error as Error).message}`, this.now());
            this.log(`room ${this.roomRow.name}: lab ${row.name} on ${runtime.engine.spec} was not removed: ${(error as Error).message}`);
          }
        }),
      );
    })();
    return this.ending;
  }

  /** The room's record for the instructor's report: learners with their totals, and every event. */
  exportRecord(): { room: object; learners: LearnerView[]; events: (EventRow & { learner: string | null })[]; messages: object[] } {
    const names = new Map(this.store.learners(this.roomRow.id).map((l) => [l.id, l.name]));
    const { instructor_token_hash: _secret, ...room } = this.reload();
    return {
      room,
      learners: this.learnerViews(),
      events: this.store.events(this.roomRow.id).map((e) => ({ ...e, learner: e.learner_id ? (names.get(e.learner_id) ?? null) : null })),
      messages: this.store.messages(this.roomRow.id),
    };
  }

  /** The learners' totals as CSV, with a column per step of the course saying when each learner passed it. */
  exportCsv(): string {
    return learnersCsv(this.learnerViews(), this.course.chapters.flatMap((c) => c.steps.map((s) => stepKey(c.number, s.id))));
  }

  /** Stops serving: shells are closed; what the store holds carries the room on at the next start. */
  async close(): Promise<void> {
    this.closed = true;
    for (const runtime of this.labs.values()) runtime.terminals.closeAll(1001, 'the room server stopped');
    // After an end, whose removals are awaited first: it needs the engines' connections.
    await this.ending?.catch(() => undefined);
    await Promise.all(this.engines.map((engine) => engine.close()));
  }
}

/** A join the room will not take, with the HTTP status that says why. */
export class JoinRefused extends LabError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function lastAt(events: EventRow[], match: (e: EventRow) => boolean): number | null {
  for (let i = events.length - 1; i >= 0; i -= 1) if (match(events[i]!)) return events[i]!.at;
  return null;
}

/**
 * A CSV of the learners' totals (what a report needs first), then a `passed_at_<chapter/step>` column
 * for each of `steps`: when the learner first passed it (ISO 8601), `passed` if that time was not
 * kept, empty if not passed.
 */
export function learnersCsv(learners: LearnerView[], steps: string[] = []): string {
  const header = ['name', 'lab', 'engine', 'chapter', 'step', 'steps_passed', 'checks_passed', 'checks_failed', 'hints_used', 'faults_fixed', 'active_fault', ...steps.map((key) => `passed_at_${key}`)];
  const cell = (value: unknown): string => {
    const text = value === null || value === undefined ? '' : String(value);
    // A cell starting with = + - @ would be a formula in a spreadsheet: quote it as text.
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const when = (l: LearnerView, key: string): string => (key in l.passedAt ? (l.passedAt[key] ?? 'passed') : '');
  const rows = learners.map((l) => [l.name, l.lab, l.engine, l.chapter, l.step, l.stepsPassed, l.checksPassed, l.checksFailed, l.hintsUsed, l.faultsFixed, l.fault?.id ?? '', ...steps.map((key) => when(l, key))].map(cell).join(','));
  return [header.join(','), ...rows].join('\n') + '\n';
}

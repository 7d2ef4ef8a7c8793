import type { Chapter, Step } from '../engine/course.ts';
import { actionFailureMessage, type Action, type Fault } from '../engine/faults.ts';
import type { BreakRequest, LabEngine } from '../engine/lab.ts';
import { SolveError } from '../engine/runner.ts';
import { COMPONENTS } from '../lab/topology.ts';
import { loadCatalog, type Catalog } from '../logs/catalog.ts';
import { collectLogTimeline } from '../logs/collect.ts';
import { SEVERITIES, type Severity } from '../logs/parse.ts';
import { LabError } from '../util/errors.ts';
import type { ClusterMap } from '../map/status.ts';
import { errorBody, failuresOf, JobBusyError, JobRunner, OutcomeError, type JobView } from './jobs.ts';

export interface ApiAnswer {
  status: number;
  body: object;
}

/** A request the API cannot take as it is: answered 400 with what to send instead. */
class BadRequest extends LabError {}

type Body = Record<string, unknown>;

/** The active fault as the page may see it: a surprise keeps its name to itself until give-up. */
export interface FaultView {
  hidden: boolean;
  id?: string;
  title?: string;
  component?: string;
  difficulty?: number;
  symptom: string;
  /** The rungs of its hint ladder shown so far, in order. */
  hints: string[];
  hintsTotal: number;
}

const actions = (list: Action[]) => list.map((a) => ({ machine: a.machine, run: a.run.trim() }));

/**
 * The browser lab's API: each route is a thin call into the engine, as each CLI command is. Long
 * calls (up, reset, down, break, give up, heal) run as a job: the POST answers 202 at once with the
 * job, whose progress, state and result GET /api/state and GET /api/job show. One job at a time;
 * every POST while one runs is answered 409. A check or solve while another (or a job started
 * meanwhile) runs waits its turn in the engine, which never runs two of a lab's actions at once.
 */
export class LabApi {
  readonly jobs = new JobRunner();
  /** Bumped whenever the lab's machines are replaced (reset, down), so the page opens new shells. */
  private generation = 0;

  constructor(private readonly engine: LabEngine) {}

  async handle(method: string, path: string, query: URLSearchParams, body: unknown): Promise<ApiAnswer> {
    try {
      if (method === 'GET') {
        if (path === '/api/state') return ok(await this.state());
        if (path === '/api/job') return ok({ job: this.jobs.view() });
        if (path === '/api/faults') return ok({ faults: this.faults() });
        if (path === '/api/health') return ok(await this.health());
        if (path === '/api/logs') return ok(await this.logs(query));
        if (path === '/api/map') return ok(await this.map());
        if (path === '/api/trace') return ok(await this.trace(query));
        if (path === '/api/traceable') return ok({ items: await this.engine.traceable() });
      }
      if (method === 'POST') {
        const route = POST_ROUTES[path];
        if (route) {
          if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
            throw new BadRequest('the request body must be a JSON object', 'send {} or the fields the route takes');
          }
          this.jobs.assertIdle();
          return await route.call(this, (body ?? {}) as Body);
        }
      }
      const known = path in POST_ROUTES || GET_ROUTES.includes(path);
      return known ? { status: 405, body: { error: `${method} is not how ${path} is called` } } : { status: 404, body: { error: `no ${method} ${path}` } };
    } catch (error) {
      if (error instanceof JobBusyError) return { status: 409, body: { error: error.message, next: error.next, job: error.job } };
      if (error instanceof LabError) return { status: 400, body: errorBody(error) };
      throw error;
    }
  }

  private async state(): Promise<object> {
    const { engine } = this;
    const progress = engine.progress();
    return {
      lab: engine.lab,
      currentChapter: progress.chapter,
      lastChapter: engine.lastChapter,
      clusterChapter: engine.clusterChapter,
      builtThrough: this.builtThrough(),
      generation: this.generation,
      components: COMPONENTS,
      machines: await engine.machines(),
      binaries: await engine.binaries(),
      chapters: engine.course.chapters.map((chapter) => ({
        number: chapter.number,
        title: chapter.title,
        summary: chapter.summary,
        steps: chapter.steps.map((step) => ({
          id: step.id,
          title: step.title,
          machine: step.machine,
          prose: step.prose,
          passed: engine.passed(chapter, step, progress),
        })),
      })),
      faults: this.faults(),
      fault: this.faultView(),
      job: this.jobs.view(),
    };
  }

  /** The last chapter N such that every step of chapters 1…N has passed (0 when none). */
  private builtThrough(): number {
    const progress = this.engine.progress();
    let through = 0;
    for (const chapter of [...this.engine.course.chapters].sort((a, b) => a.number - b.number)) {
      if (!chapter.steps.every((step) => this.engine.passed(chapter, step, progress))) break;
      through = chapter.number;
    }
    return through;
  }

  /** Every fault with its title: the CLI's lab faults lists them all; the page hides a title until it is chosen. */
  private faults(): object[] {
    return this.engine.course.faults.map((f) => ({ id: f.id, title: f.title, component: f.component, difficulty: f.difficulty }));
  }

  private faultView(): FaultView | null {
    const active = this.engine.activeFault();
    if (!active) return null;
    const { fault, state } = active;
    const named = state.hidden ? {} : { id: fault.id, title: fault.title, component: fault.component, difficulty: fault.difficulty };
    return { hidden: state.hidden, ...named, symptom: fault.symptom, hints: fault.hints.slice(0, state.hintsShown), hintsTotal: fault.hints.length };
  }

  private async health(): Promise<object> {
    const outcome = await this.engine.health();
    return { passed: outcome.passed, failures: failuresOf(outcome) };
  }

  /**
   * The same merged timeline as `lab logs`, newest 500 lines since a moment (default: 5 minutes ago, at most an
   * hour), with the sources that could not be read and those cut to the line cap.
   */
  private async logs(params: URLSearchParams): Promise<object> {
    const since = Number(params.get('since')) || Date.now() - 5 * 60_000;
    const level = params.get('level');
    const timeline = await collectLogTimeline(this.engine.provider, this.engine.lab, {
      since,
      component: params.get('component') || undefined,
      machine: params.get('machine') || undefined,
      level: level && (SEVERITIES as string[]).includes(level) ? (level as Severity) : undefined,
      grep: params.get('grep') || undefined,
    });
    // Each line carries the catalog's word on it, so the page can dim this lab's noise and explain a line when clicked.
    const catalog = this.catalog();
    const entries = timeline.entries.slice(-500).map((entry) => {
      const known = catalog?.lookup(entry);
      return known ? { ...entry, known: { means: known.means, expected: known.expected, why: known.why, next: known.next } } : entry;
    });
    return { entries, since: timeline.since, unreadable: timeline.unreadable, truncated: timeline.truncated };
  }

  private mapRead: { at: number; answer: Promise<ClusterMap> } | null = null;
  /**
   * The live map, shared: however many pages poll, the cluster is read at most once per MAP_REUSE_MS
   * (a read in flight is joined, not repeated).
   */
  private map(): Promise<ClusterMap> {
    if (this.mapRead && Date.now() - this.mapRead.at < MAP_REUSE_MS) return this.mapRead.answer;
    const answer = this.engine.clusterMap();
    this.mapRead = { at: Date.now(), answer };
    answer.catch(() => (this.mapRead = null));
    return answer;
  }

  /** `lab trace` for the page: ?ref=kind/name, &namespace (default), &since in milliseconds back (default 30 min). */
  private async trace(params: URLSearchParams): Promise<object> {
    const ref = params.get('ref');
    if (!ref) throw new BadRequest('say what to trace: ?ref=kind/name', 'for example ?ref=deployment/web');
    const since = Number(params.get('since'));
    return this.engine.trace(ref, { namespace: params.get('namespace') || undefined, sinceMs: Number.isFinite(since) && since > 0 ? since : undefined });
  }

  private loadedCatalog: Catalog | null | undefined;
  /** The log catalog, read once; a damaged catalog leaves lines unexplained rather than the timeline empty. */
  private catalog(): Catalog | null {
    if (this.loadedCatalog === undefined) {
      try {
        this.loadedCatalog = loadCatalog();
      } catch {
        this.loadedCatalog = null;
      }
    }
    return this.loadedCatalog;
  }

  // --- steps -------------------------------------------------------------------------------------

  async stepAction(action: 'check' | 'hint' | 'solve', body: Body): Promise<ApiAnswer> {
    const { chapter, step } = this.stepOf(body);
    const name = `${chapter.number}/${step.id}`;
    if (action === 'hint') return ok((await this.engine.hint(name)).hint);
    try {
      const outcome = action === 'check' ? (await this.engine.check(name)).outcome : (await this.engine.solve(name)).outcome;
      return ok({ passed: outcome.passed, failures: failuresOf(outcome), solution: action === 'solve' ? step.solve : undefined });
    } catch (error) {
      if (error instanceof SolveError) return ok({ passed: false, failures: [{ message: 'The solution failed to run.', output: error.output }], solution: step.solve });
      throw error;
    }
  }

  private stepOf(body: Body): { chapter: Chapter; step: Step } {
    const chapter = this.chapterOf(body, true)!;
    if (typeof body.step !== 'string' || !body.step) throw new BadRequest('say which step: "step" is a step id of the chapter', `one of: ${chapter.steps.map((s) => s.id).join(', ')}`);
    const step = chapter.steps.find((s) => s.id === body.step);
    if (!step) throw new BadRequest(`chapter ${chapter.number} has no step "${body.step}"`, `one of: ${chapter.steps.map((s) => s.id).join(', ')}`);
    return { chapter, step };
  }

  /** The body's "chapter": an integer naming a chapter of the course. */
  private chapterOf(body: Body, required: boolean): Chapter | undefined {
    const numbers = this.engine.course.chapters.map((c) => c.number);
    const range = `a chapter number from ${Math.min(...numbers)} to ${Math.max(...numbers)}`;
    if (body.chapter === undefined || body.chapter === null) {
      if (required) throw new BadRequest('say which chapter: "chapter" is missing', `send {"chapter": N}, N ${range}`);
      return undefined;
    }
    if (typeof body.chapter !== 'number' || !Number.isInteger(body.chapter)) throw new BadRequest(`"chapter" must be an integer, not ${JSON.stringify(body.chapter)}`, `send ${range}`);
    const chapter = this.engine.course.chapters.find((c) => c.number === body.chapter);
    if (!chapter) throw new BadRequest(`there is no chapter ${body.chapter}`, `send ${range}`);
    return chapter;
  }

  // --- the lab's lifecycle -----------------------------------------------------------------------

  async up(body: Body): Promise<ApiAnswer> {
    const chapter = this.chapterOf(body, false)?.number;
    const fresh = (await this.engine.machines()).every((m) => m.state === 'missing');
    return this.job('up', chapter === undefined ? 'Starting the machines' : `Starting the lab at chapter ${chapter}`, async () => {
      await this.engine.up(chapter);
      return { chapter: chapter ?? null };
    }, { chapter: chapter ?? null, fresh });
  }

  async reset(body: Body): Promise<ApiAnswer> {
    const chapter = this.chapterOf(body, true)!.number;
    return this.job('reset', `Resetting the lab to chapter ${chapter}`, async () => {
      try {
        await this.engine.reset(chapter);
      } finally {
        this.generation += 1;
      }
      return { chapter };
    }, { chapter });
  }

  async down(): Promise<ApiAnswer> {
    return this.job('down', 'Removing the lab', async () => {
      try {
        await this.engine.down();
      } finally {
        this.generation += 1;
      }
      return {};
    });
  }

  // --- break and fix -----------------------------------------------------------------------------

  async breakCluster(body: Body): Promise<ApiAnswer> {
    const request = this.breakRequest(body);
    if (this.engine.candidates(request).length === 0) {
      throw new BadRequest(request.id ? `there is no fault "${request.id}"` : 'no fault matches that component and difficulty', 'GET /api/faults lists them');
    }
    if (this.engine.activeFault()) throw new BadRequest('this lab already has a fault to fix', 'fix it (Check grades the fix), or give up on it');
    const surprise = !request.id;
    return this.job('break', surprise ? 'Breaking the cluster with a surprise fault' : `Breaking the cluster: ${request.id}`, async () => {
      const fault = await this.engine.breakCluster(request);
      return surprise ? { hidden: true, symptom: fault.symptom } : { hidden: false, ...describeFault(fault), symptom: fault.symptom };
    }, surprise ? { hidden: true } : { hidden: false, id: request.id });
  }

  private breakRequest(body: Body): BreakRequest {
    const { id, random, component, difficulty } = body;
    if (id !== undefined) {
      if (typeof id !== 'string' || !id) throw new BadRequest('"id" must be a fault id', 'GET /api/faults lists them');
      return { id };
    }
    if (random !== true) throw new BadRequest('say which fault to break: {"id": "<fault>"} or {"random": true}', 'random takes "component" and "difficulty" (1 to 3) as filters');
    const components = [...new Set(this.engine.course.faults.map((f) => f.component))];
    if (component !== undefined && component !== null && component !== '' && (typeof component !== 'string' || !components.includes(component))) {
      throw new BadRequest(`no fault is of component ${JSON.stringify(component)}`, `one of: ${components.join(', ')}`);
    }
    if (difficulty !== undefined && difficulty !== null && difficulty !== '' && !(typeof difficulty === 'number' && [1, 2, 3].includes(difficulty))) {
      throw new BadRequest(`"difficulty" must be 1, 2 or 3, not ${JSON.stringify(difficulty)}`, 'or leave it out for any');
    }
    return { component: (component as string) || undefined, difficulty: (difficulty as number) || undefined };
  }

  /** The same grading as `lab check` with a fault active: the fault's own checks, every component's health, the guards. */
  async faultCheck(): Promise<ApiAnswer> {
    this.requireFault();
    const result = await this.engine.check();
    if (result.kind !== 'fault') throw new BadRequest('no fault is active in this lab', 'break one first');
    const { passed } = result.outcome;
    return ok({ passed, failures: failuresOf(result.outcome), ...(passed ? { fixed: describeFault(result.fault) } : {}) });
  }

  async faultHint(): Promise<ApiAnswer> {
    this.requireFault();
    const result = await this.engine.hint();
    return ok({ ...result.hint, last: result.hint.index === result.hint.total });
  }

  /** Shows the answer at once (in the job's info), applies the fix and waits for a healthy cluster. */
  async giveUp(): Promise<ApiAnswer> {
    const { fault } = this.requireFault();
    const answer = { ...describeFault(fault), symptom: fault.symptom, injected: actions(fault.inject), fix: actions(fault.solve) };
    return this.job('giveup', 'Applying the fix and waiting for a healthy cluster', async () => {
      const { fix, outcome } = await this.engine.giveUp();
      if (!fix.ok) throw new LabError(actionFailureMessage(fault, 'solve', fix), 'Heal restores the cluster the long way');
      if (!outcome.passed) throw new OutcomeError('the cluster is still not healthy', 'Heal restores it the long way', outcome);
      return { ...answer, healthy: true };
    }, answer);
  }

  async heal(): Promise<ApiAnswer> {
    return this.job('heal', 'Healing the cluster', async () => {
      const { outcome } = await this.engine.heal();
      if (!outcome.passed) throw new OutcomeError('the cluster is still not healthy after healing', `remove the lab and start it again at chapter ${this.engine.clusterChapter}`, outcome);
      return { healthy: true };
    });
  }

  private requireFault(): { fault: Fault } {
    const active = this.engine.activeFault();
    if (!active) throw new BadRequest('no fault is active in this lab', 'break one first');
    return active;
  }

  private job(kind: JobView['kind'], title: string, work: () => Promise<object>, info?: object): ApiAnswer {
    return { status: 202, body: { job: this.jobs.start(kind, title, work, info) } };
  }
}

const GET_ROUTES = ['/api/state', '/api/job', '/api/faults', '/api/health', '/api/logs', '/api/map', '/api/trace', '/api/traceable'];

const POST_ROUTES: Record<string, (this: LabApi, body: Body) => Promise<ApiAnswer>> = {
  '/api/check': function (body) { return this.stepAction('check', body); },
  '/api/hint': function (body) { return this.stepAction('hint', body); },
  '/api/solve': function (body) { return this.stepAction('solve', body); },
  '/api/lab/up': function (body) { return this.up(body); },
  '/api/lab/reset': function (body) { return this.reset(body); },
  '/api/lab/down': function () { return this.down(); },
  '/api/fault/break': function (body) { return this.breakCluster(body); },
  '/api/fault/check': function () { return this.faultCheck(); },
  '/api/fault/hint': function () { return this.faultHint(); },
  '/api/fault/giveup': function () { return this.giveUp(); },
  '/api/heal': function () { return this.heal(); },
};

const describeFault = (fault: Fault) => ({ id: fault.id, title: fault.title, component: fault.component, difficulty: fault.difficulty });

/** How long one reading of the map serves every page that asks. */
const MAP_REUSE_MS = 2000;

const ok = (body: object): ApiAnswer => ({ status: 200, body });

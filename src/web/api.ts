import type { LabEngine } from '../engine/lab.ts';
import { SolveError } from '../engine/runner.ts';
import { COMPONENTS } from '../lab/topology.ts';
import { collectLogTimeline } from '../logs/collect.ts';
import { SEVERITIES, type Severity } from '../logs/parse.ts';
import { LabError } from '../util/errors.ts';

export interface ApiAnswer {
  status: number;
  body: object;
}

/** The browser lab's API: each route is a thin call into the engine, as each CLI command is. */
export class LabApi {
  constructor(private readonly engine: LabEngine) {}

  async handle(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>): Promise<ApiAnswer> {
    try {
      if (path === '/api/state' && method === 'GET') return ok(await this.state());
      if (path === '/api/logs' && method === 'GET') return ok(await this.logs(query));
      const action = path.match(/^\/api\/(check|hint|solve)$/)?.[1];
      if (action && method === 'POST') return ok(await this.stepAction(action, body));
      return { status: 404, body: { error: `no ${method} ${path}` } };
    } catch (error) {
      if (error instanceof LabError) return { status: 400, body: { error: error.message, next: error.next } };
      throw error;
    }
  }

  private async state(): Promise<object> {
    const { engine } = this;
    const progress = engine.progress();
    return {
      lab: engine.lab,
      currentChapter: progress.chapter,
      components: COMPONENTS,
      machines: await engine.machines(),
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
    };
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
    return { entries: timeline.entries.slice(-500), since: timeline.since, unreadable: timeline.unreadable, truncated: timeline.truncated };
  }

  private async stepAction(action: string, body: Record<string, unknown>): Promise<object> {
    const chapter = this.engine.course.chapters.find((c) => c.number === body.chapter);
    const step = chapter?.steps.find((s) => s.id === body.step);
    if (!chapter || !step) return { error: `no step ${String(body.chapter)}/${String(body.step)}` };
    const name = `${chapter.number}/${step.id}`;
    if (action === 'hint') return (await this.engine.hint(name)).hint;
    try {
      const outcome = action === 'check' ? (await this.engine.check(name)).outcome : (await this.engine.solve(name)).outcome;
      return {
        passed: outcome.passed,
        failures: outcome.failures.map((f) => ({ message: f.check.fail, output: f.output })),
        solution: action === 'solve' ? step.solve : undefined,
      };
    } catch (error) {
      if (error instanceof SolveError) return { passed: false, failures: [{ message: 'The solution failed to run.', output: error.output }], solution: step.solve };
      throw error;
    }
  }
}

const ok = (body: object): ApiAnswer => ({ status: 200, body });

import { failureMessage, type CheckOutcome } from '../engine/runner.ts';
import { LabError } from '../util/errors.ts';
import { reportingTo, type OutputSink } from '../util/output.ts';

/** The long engine calls the browser lab runs in the background. */
export type JobKind = 'up' | 'reset' | 'down' | 'break' | 'giveup' | 'heal';
export type JobState = 'running' | 'done' | 'failed';

/** One line of a job's output: a progress line (rewritten as it goes), its end, or a plain line. */
export interface JobLine {
  kind: 'progress' | 'done' | 'say' | 'warn';
  text: string;
}

/** What went wrong, as the CLI would say it: the sentence, the next thing to try, and what is still broken. */
export interface JobError {
  error: string;
  next?: string;
  failures?: { message: string; output: string }[];
}

/** A job as the page sees it: enough to pick it up again after a reload. */
export interface JobView {
  id: number;
  kind: JobKind;
  title: string;
  state: JobState;
  lines: JobLine[];
  startedAt: number;
  finishedAt?: number;
  /** What is known when the job starts (a give-up's injection and fix, say), shown while it runs. */
  info?: object;
  result?: object;
  error?: JobError;
}

/** The most lines a job keeps; the oldest go first. */
export const MAX_JOB_LINES = 400;

/** A check outcome in the words the page shows: each failing check's own message and what it saw. */
export const failuresOf = (outcome: CheckOutcome): { message: string; output: string }[] =>
  outcome.failures.map((f) => ({ message: failureMessage(f), output: f.output }));

/** A LabError that comes with the checks still failing (a cluster not healthy, a fix that did not take). */
export class OutcomeError extends LabError {
  constructor(
    message: string,
    next: string | undefined,
    readonly outcome: CheckOutcome,
  ) {
    super(message, next);
  }
}

/** A second job while one runs. */
export class JobBusyError extends LabError {
  constructor(readonly job: JobView) {
    super(`the lab is busy: "${job.title}" is still running`, 'wait for it to finish; its progress is shown on the page');
  }
}

export function errorBody(error: unknown): JobError {
  if (error instanceof LabError) {
    const outcome = (error as { outcome?: unknown }).outcome as CheckOutcome | undefined;
    return { error: error.message, ...(error.next ? { next: error.next } : {}), ...(outcome?.failures?.length ? { failures: failuresOf(outcome) } : {}) };
  }
  return { error: error instanceof Error ? error.message : String(error) };
}

interface Job extends JobView {
  finished: Promise<void>;
}

/**
 * The jobs of one lab, one at a time. A job's progress lines (everything its work reports through
 * `Progress`, however deep), state, result or error are kept in memory, so a page that reloads
 * while it runs picks it up again. The last job stays until the next one starts.
 */
export class JobRunner {
  private latest: Job | null = null;
  private count = 0;

  get running(): boolean {
    return this.latest?.state === 'running';
  }

  /** Refuses with JobBusyError while a job runs. */
  assertIdle(): void {
    if (this.latest && this.latest.state === 'running') throw new JobBusyError(this.view()!);
  }

  /** Starts `work` and returns at once; refuses (JobBusyError) while another job runs. */
  start(kind: JobKind, title: string, work: () => Promise<object>, info?: object): JobView {
    this.assertIdle();
    const job: Job = { id: ++this.count, kind, title, state: 'running', lines: [], startedAt: Date.now(), ...(info ? { info } : {}), finished: Promise.resolve() };
    const sink = lineSink(job.lines);
    job.finished = reportingTo(sink, async () => work()).then(
      (result) => {
        job.result = result;
        job.state = 'done';
      },
      (error: unknown) => {
        job.error = errorBody(error);
        job.state = 'failed';
      },
    ).finally(() => {
      job.finishedAt = Date.now();
    });
    this.latest = job;
    return this.view()!;
  }

  /** The running job, or the last one to finish; null before the first. */
  view(): JobView | null {
    if (!this.latest) return null;
    const { finished: _finished, ...view } = this.latest;
    return { ...view, lines: view.lines.map((line) => ({ ...line })) };
  }

  /** Resolves once the current job (if any) has finished. */
  async settled(): Promise<JobView | null> {
    await this.latest?.finished;
    return this.view();
  }
}

/** Collects a job's output: a progress line is rewritten in place until its label is done. */
function lineSink(lines: JobLine[]): OutputSink {
  const open = new Map<string, JobLine>();
  const push = (line: JobLine): JobLine => {
    lines.push(line);
    if (lines.length > MAX_JOB_LINES) lines.splice(0, lines.length - MAX_JOB_LINES);
    return line;
  };
  return {
    update(label, detail) {
      const text = `${label}: ${detail}`;
      const line = open.get(label);
      if (line && lines.includes(line)) line.text = text;
      else open.set(label, push({ kind: 'progress', text }));
    },
    done(label, detail) {
      const text = `${label}: ${detail}`;
      const line = open.get(label);
      open.delete(label);
      if (line && lines.includes(line)) Object.assign(line, { kind: 'done', text });
      else push({ kind: 'done', text });
    },
    say: (line) => void push({ kind: 'say', text: line }),
    warn: (line) => void push({ kind: 'warn', text: line }),
  };
}

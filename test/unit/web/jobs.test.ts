import { describe, expect, it } from 'vitest';
import { JobBusyError, JobRunner, MAX_JOB_LINES, OutcomeError } from '../../../src/web/jobs.ts';
import { LabError } from '../../../src/util/errors.ts';
import { Progress, say, warn } from '../../../src/util/output.ts';

/** A promise the test resolves when it wants the job to go on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Reports from a few awaits deep, as the engine's layers do. */
async function deep(progress: Progress, detail: string): Promise<void> {
  await Promise.resolve();
  progress.update(detail);
}

describe('jobs', () => {
  it('keeps a running job\'s progress lines, rewriting a label\'s line in place until it is done', async () => {
    const jobs = new JobRunner();
    const step = gate();
    const started = jobs.start('up', 'Starting the lab at chapter 2', async () => {
      const machines = new Progress('lab unit');
      await deep(machines, 'creating jumpbox');
      await deep(machines, 'creating server');
      await step.wait;
      machines.done('4 machines running');
      say('a plain line');
      warn('a warning');
      return { chapter: 2 };
    }, { chapter: 2 });
    expect(started).toMatchObject({ id: 1, kind: 'up', state: 'running', info: { chapter: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(jobs.view()!.lines).toEqual([{ kind: 'progress', text: 'lab unit: creating server' }]);
    expect(jobs.running).toBe(true);
    step.open();
    const done = await jobs.settled();
    expect(done).toMatchObject({ state: 'done', result: { chapter: 2 } });
    expect(done!.finishedAt).toBeGreaterThanOrEqual(done!.startedAt);
    expect(done!.lines).toEqual([
      { kind: 'done', text: 'lab unit: 4 machines running' },
      { kind: 'say', text: 'a plain line' },
      { kind: 'warn', text: 'a warning' },
    ]);
    expect(jobs.running).toBe(false);
  });

  it('refuses a second job while one runs, and takes the next once it is over', async () => {
    const jobs = new JobRunner();
    const step = gate();
    jobs.start('up', 'Starting the lab', async () => (await step.wait, {}));
    const busy = (() => { try { jobs.start('down', 'Removing the lab', async () => ({})); } catch (error) { return error; } })();
    expect(busy).toBeInstanceOf(JobBusyError);
    expect((busy as JobBusyError).message).toBe('the lab is busy: "Starting the lab" is still running');
    expect((busy as JobBusyError).job.kind).toBe('up');
    step.open();
    await jobs.settled();
    expect(jobs.start('down', 'Removing the lab', async () => ({})).id).toBe(2);
    expect((await jobs.settled())!.kind).toBe('down');
  });

  it('a failed job keeps the LabError\'s message and next, and what is still broken', async () => {
    const jobs = new JobRunner();
    jobs.start('heal', 'Healing', async () => {
      throw new OutcomeError('the cluster is still not healthy', 'start afresh', { passed: false, failures: [{ check: { run: 'x', fail: 'etcd is down' }, output: 'refused' }] });
    });
    expect(await jobs.settled()).toMatchObject({ state: 'failed', error: { error: 'the cluster is still not healthy', next: 'start afresh', failures: [{ message: 'etcd is down', output: 'refused' }] } });
    jobs.start('up', 'Up', async () => { throw new LabError('no way', 'try that'); });
    expect((await jobs.settled())!.error).toEqual({ error: 'no way', next: 'try that' });
    jobs.start('up', 'Up', async () => { throw new Error('connect ENOENT /var/run/docker.sock'); });
    expect((await jobs.settled())!.error).toEqual({ error: 'connect ENOENT /var/run/docker.sock' });
  });

  it('keeps at most MAX_JOB_LINES lines, the newest', async () => {
    const jobs = new JobRunner();
    jobs.start('up', 'Chatty', async () => {
      for (let i = 0; i < MAX_JOB_LINES + 50; i++) say(`line ${i}`);
      return {};
    });
    const lines = (await jobs.settled())!.lines;
    expect(lines).toHaveLength(MAX_JOB_LINES);
    expect(lines.at(-1)!.text).toBe(`line ${MAX_JOB_LINES + 49}`);
  });

  it('a view is a copy: changing it changes nothing in the job', async () => {
    const jobs = new JobRunner();
    jobs.start('up', 'Up', async () => (say('one'), {}));
    const view = (await jobs.settled())!;
    view.lines[0]!.text = 'changed';
    expect(jobs.view()!.lines[0]!.text).toBe('one');
  });
});

import { describe, expect, it } from 'vitest';
import { readProgress } from '../../../src/engine/progress.ts';
import { LabApi } from '../../../src/web/api.ts';
import type { JobView } from '../../../src/web/jobs.ts';
import { FakeBinaries } from '../../helpers/fake-binaries.ts';
import { fakeCourse, fakeLab, FAST_SETUP } from '../../helpers/fake-course.ts';
import { FakeProvider, SlowProvider } from '../../helpers/fake-provider.ts';

type Answer = { status: number; body: Record<string, any> };

function api(provider: FakeProvider = new FakeProvider()) {
  const made = fakeLab(undefined, provider);
  const labApi = new LabApi(made.engine);
  const call = async (method: string, path: string, body: unknown = {}): Promise<Answer> =>
    (await labApi.handle(method, path, new URLSearchParams(), body)) as Answer;
  const get = (path: string) => call('GET', path);
  const post = (path: string, body: unknown = {}) => call('POST', path, body);
  /** Starts a job and waits for it. */
  const job = async (path: string, body: unknown = {}): Promise<JobView> => {
    const started = await post(path, body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return (await labApi.jobs.settled())!;
  };
  return { ...made, labApi, get, post, job };
}

/** A lab fast-forwarded to the fake course's last chapter, healthy. */
async function finished() {
  const made = api();
  expect((await made.job('/api/lab/up', { chapter: 3 })).state).toBe('done');
  made.provider.factsOf('unit').add('healthy');
  return made;
}

describe('the API: the lab\'s lifecycle as jobs', () => {
  it('a lab with no machines says so; up N answers 202 at once and streams its progress into the state', async () => {
    const { get, post, labApi } = api();
    const before = (await get('/api/state')).body;
    expect(before.machines.every((m: { state: string }) => m.state === 'missing')).toBe(true);
    expect(before).toMatchObject({ job: null, fault: null, builtThrough: 0, lastChapter: 3, currentChapter: 1 });

    const started = await post('/api/lab/up', { chapter: 2, colour: 'ignored' });
    expect(started.status).toBe(202);
    expect(started.body.job).toMatchObject({ kind: 'up', state: 'running', title: 'Starting the lab at chapter 2', info: { chapter: 2, fresh: true } });
    expect((await get('/api/job')).body.job.state).toBe('running');

    const second = await post('/api/lab/reset', { chapter: 1 });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('the lab is busy: "Starting the lab at chapter 2" is still running');
    expect(second.body.job.kind).toBe('up');
    expect((await post('/api/solve', { chapter: 1, step: 'a1' })).status).toBe(409);

    await labApi.jobs.settled();
    const after = (await get('/api/state')).body;
    expect(after.job.state).toBe('done');
    expect(after.job.lines.map((l: { text: string }) => l.text)).toEqual(expect.arrayContaining(['lab unit: 4 machines up on 10.240.0.0/24', 'chapters before 2: 2 steps replayed or already done']));
    expect(after.machines.every((m: { state: string }) => m.state === 'running')).toBe(true);
    expect(after).toMatchObject({ currentChapter: 2, builtThrough: 1 });
  });

  it('a failing up is a failed job with the LabError\'s message and next', async () => {
    const { job, provider } = api();
    provider.engineDown = true;
    const failed = await job('/api/lab/up', { chapter: 2 });
    expect(failed.state).toBe('failed');
    expect(failed.error!.error).toBeTruthy();
  });

  it('reset starts afresh at a chapter and down removes the lab; each gives the page a new generation of shells', async () => {
    const { job, get, provider } = await finished();
    const generation = (await get('/api/state')).body.generation;
    expect((await job('/api/lab/reset', { chapter: 2 })).state).toBe('done');
    let state = (await get('/api/state')).body;
    expect(state).toMatchObject({ currentChapter: 2, builtThrough: 1 });
    expect(state.generation).toBeGreaterThan(generation);
    expect((await job('/api/lab/down')).state).toBe('done');
    state = (await get('/api/state')).body;
    expect(state.machines.every((m: { state: string }) => m.state === 'missing')).toBe(true);
    expect(state).toMatchObject({ currentChapter: 1, builtThrough: 0 });
    expect(provider.machines.get('unit')?.size ?? 0).toBe(0);
  });

  it('validates bodies with clear 400s', async () => {
    const { post } = api();
    const cases: [string, unknown, RegExp][] = [
      ['/api/lab/up', { chapter: '2' }, /"chapter" must be an integer, not "2"/],
      ['/api/lab/up', { chapter: 1.5 }, /"chapter" must be an integer/],
      ['/api/lab/up', { chapter: 9 }, /there is no chapter 9/],
      ['/api/lab/reset', {}, /say which chapter/],
      ['/api/lab/up', [1], /must be a JSON object/],
      ['/api/check', { chapter: 1 }, /say which step/],
      ['/api/check', { chapter: 1, step: 'zz' }, /chapter 1 has no step "zz"/],
      ['/api/fault/break', {}, /say which fault to break/],
      ['/api/fault/break', { id: 'nope' }, /there is no fault "nope"/],
      ['/api/fault/break', { random: true, difficulty: 4 }, /"difficulty" must be 1, 2 or 3/],
      ['/api/fault/break', { random: true, component: 'kube-nothing' }, /no fault is of component "kube-nothing"/],
      ['/api/fault/break', { random: true, component: 'etcd', difficulty: 3 }, /no fault matches/],
      ['/api/fault/check', {}, /no fault is active/],
      ['/api/fault/hint', {}, /no fault is active/],
      ['/api/fault/giveup', {}, /no fault is active/],
    ];
    for (const [path, body, message] of cases) {
      const answer = await post(path, body);
      expect(answer.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(answer.body.error).toMatch(message);
      expect(typeof answer.body.next).toBe('string');
    }
    expect((await post('/api/nothing')).status).toBe(404);
    expect((await post('/api/state')).status).toBe(405);
  });

  it('step check, hint and solve take a chapter and step', async () => {
    const { job, post } = api();
    await job('/api/lab/up', {});
    expect((await post('/api/check', { chapter: 1, step: 'a1' })).body).toMatchObject({ passed: false, failures: [{ message: 'a1 is not done' }] });
    expect((await post('/api/hint', { chapter: 1, step: 'a1' })).body).toMatchObject({ text: 'a1: first hint', index: 1, total: 3 });
    expect((await post('/api/solve', { chapter: 1, step: 'a1' })).body).toMatchObject({ passed: true, solution: expect.stringContaining('set a1') });
  });
});

describe('the API: one action at a time', () => {
  it('a check and a solve posted at once both answer: the check waits for the solution and grades it; no two scripts overlap', async () => {
    const provider = new SlowProvider(40, 5);
    const { job, post } = api(provider);
    await job('/api/lab/up', {});
    provider.resetCount();
    const [solved, checked, again] = await Promise.all([post('/api/solve', { chapter: 1, step: 'a1' }), post('/api/check', { chapter: 1, step: 'a1' }), post('/api/solve', { chapter: 1, step: 'a2' })]);
    expect([solved.status, checked.status, again.status]).toEqual([200, 200, 200]);
    expect([solved.body.passed, checked.body.passed, again.body.passed]).toEqual([true, true, true]);
    expect(provider.most).toBe(1);
  });

  it('a heal posted while a solve runs is taken (202) and waits for it, saying so in its job', async () => {
    const provider = new SlowProvider(40, 5);
    const { job, post, labApi } = api(provider);
    await job('/api/lab/up', {});
    provider.factsOf('unit').add('healthy');
    const solving = post('/api/solve', { chapter: 1, step: 'a1' });
    const heal = await post('/api/heal');
    expect(heal.status).toBe(202);
    expect((await solving).body.passed).toBe(true);
    const healed = (await labApi.jobs.settled())!;
    expect(healed.state).toBe('done');
    expect(healed.lines.map((l) => l.text)).toContain('lab unit: its turn: healing the cluster');
    expect(provider.counters.get('solve-a1')).toBe(1);
  });
});

describe('the API: break and fix', () => {
  it('lists the faults with component, difficulty and title', async () => {
    const { get } = api();
    expect((await get('/api/faults')).body.faults[0]).toEqual({ id: 'etcd-down', title: 'Fault etcd-down', component: 'etcd', difficulty: 1 });
  });

  it('breaking an unhealthy cluster fails the job with what is unhealthy', async () => {
    const { job } = api();
    await job('/api/lab/up', { chapter: 3 });
    const failed = await job('/api/fault/break', { id: 'etcd-down' });
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ error: /not healthy/, next: /lab up 3/, failures: [{ message: 'the cluster is not healthy' }] });
  });

  it('a chosen fault: break, check in the fault\'s own words, two hints that survive a reload, give up with the answer, healthy', async () => {
    const { job, get, post, labApi } = await finished();
    const broken = await job('/api/fault/break', { id: 'etcd-down' });
    expect(broken).toMatchObject({ state: 'done', result: { hidden: false, id: 'etcd-down', title: 'Fault etcd-down', symptom: 'symptom of etcd-down' } });
    expect((await post('/api/fault/break', { id: 'proxy-gone' })).body.error).toMatch(/already has a fault/);

    const check = await post('/api/fault/check');
    expect(check.status).toBe(200);
    expect(check.body.passed).toBe(false);
    expect(check.body.failures.map((f: { message: string }) => f.message)).toEqual(['the cluster still misbehaves', 'the cluster is not healthy']);

    expect((await post('/api/fault/hint')).body).toMatchObject({ text: 'etcd-down: look at the logs', index: 1, total: 2, last: false });
    expect((await post('/api/fault/hint')).body).toMatchObject({ index: 2, last: true });
    // a reload reads the state afresh: the fault, its symptom and the hints shown are there
    expect((await get('/api/state')).body.fault).toEqual({
      hidden: false, id: 'etcd-down', title: 'Fault etcd-down', component: 'etcd', difficulty: 1,
      symptom: 'symptom of etcd-down', hints: ['etcd-down: look at the logs', 'etcd-down: the answer'], hintsTotal: 2,
    });

    const started = await post('/api/fault/giveup');
    expect(started.status).toBe(202);
    expect(started.body.job.info).toMatchObject({ id: 'etcd-down', injected: [{ machine: 'server', run: 'count inject-etcd-down\nunset healthy' }], fix: [{ machine: 'server', run: 'count fix-etcd-down\nset healthy' }] });
    await labApi.jobs.settled();
    const gaveUp = (await get('/api/job')).body.job as JobView;
    expect(gaveUp).toMatchObject({ kind: 'giveup', state: 'done', result: { healthy: true, id: 'etcd-down' } });
    expect(gaveUp.lines.map((l) => l.text)).toContain('waiting for a healthy cluster: healthy again');
    const state = (await get('/api/state')).body;
    expect(state.fault).toBeNull();
    expect((await get('/api/health')).body).toEqual({ passed: true, failures: [] });
  });

  it('a surprise keeps the fault\'s name out of the state and the job until give-up, whatever the filter', async () => {
    const { job, get, post, labApi } = await finished();
    const broken = await job('/api/fault/break', { random: true, component: 'kube-proxy', unknown: 1 });
    expect(broken.state).toBe('done');
    expect(broken.result).toEqual({ hidden: true, symptom: 'symptom of proxy-gone' });
    expect(readProgress('unit').fault).toMatchObject({ id: 'proxy-gone', hidden: true });
    await post('/api/fault/hint');
    const { fault, job: shownJob } = (await get('/api/state')).body;
    expect(fault).toEqual({ hidden: true, symptom: 'symptom of proxy-gone', hints: ['proxy-gone: look at the logs'], hintsTotal: 2 });
    expect(JSON.stringify({ fault, shownJob })).not.toMatch(/"id":"|"title":"Fault|"component"|Fault proxy-gone|kube-proxy/);

    await post('/api/fault/giveup');
    const gaveUp = (await labApi.jobs.settled())!;
    expect(gaveUp.result).toMatchObject({ id: 'proxy-gone', title: 'Fault proxy-gone', healthy: true });
  });

  it('fixing the fault by hand: Check passes, names what it was and clears it', async () => {
    const { job, post, get, provider } = await finished();
    await job('/api/fault/break', { random: true, difficulty: 1 });
    provider.factsOf('unit').add('healthy');
    const check = await post('/api/fault/check');
    expect(check.body).toMatchObject({ passed: true, failures: [], fixed: { id: 'etcd-down', title: 'Fault etcd-down' } });
    expect((await get('/api/state')).body.fault).toBeNull();
  });

  it('a give-up whose fix fails fails its job with the action that failed, and points at Heal', async () => {
    const { job, engine } = await finished();
    engine.course.faults[2] = { ...engine.course.faults[2]!, solve: [{ machine: 'node-0', run: 'exit 5' }] };
    await job('/api/fault/break', { id: 'dns-loop' });
    const gaveUp = await job('/api/fault/giveup');
    expect(gaveUp.state).toBe('failed');
    expect(gaveUp.error).toEqual({ error: 'the fix of the fault dns-loop failed: action 1 of 1 (solve[0] in labs/faults/dns-loop.yaml) on node-0 exited with code 5, printing nothing', next: 'Heal restores the cluster the long way' });
  });

  it('heal is a job that restores a healthy cluster and clears the fault', async () => {
    const { job, get } = await finished();
    await job('/api/fault/break', { id: 'dns-loop' });
    const healed = await job('/api/heal');
    expect(healed).toMatchObject({ kind: 'heal', state: 'done', result: { healthy: true } });
    expect((await get('/api/state')).body.fault).toBeNull();
  });
});

describe('the API: traces', () => {
  it('GET /api/trace says what to send when the name is missing or not kind/name, before reaching a machine', async () => {
    const { labApi, provider } = api();
    const before = provider.execLog.length;
    const missing = await labApi.handle('GET', '/api/trace', new URLSearchParams(), undefined);
    expect(missing).toMatchObject({ status: 400, body: { error: 'say what to trace: ?ref=kind/name' } });
    const wrong = await labApi.handle('GET', '/api/trace', new URLSearchParams({ ref: 'configmap/x' }), undefined);
    expect(wrong).toMatchObject({ status: 400, body: { error: '"configmap/x" is not something a trace follows' } });
    expect(provider.execLog.length).toBe(before);
    expect((await labApi.handle('POST', '/api/map', new URLSearchParams(), {})).status).toBe(405);
  });
});

describe('the API: binaries built in the background', () => {
  it('the state shows the host\'s build while it runs; a step waiting for it is answered once the binaries land', async () => {
    const binaries = new FakeBinaries();
    const course = fakeCourse();
    course.chapters[1] = { ...course.chapters[1]!, needs: ['binaries'] };
    const { engine } = fakeLab(course, undefined, 'unit', { ...FAST_SETUP, binaries });
    const labApi = new LabApi(engine);
    const call = async (method: string, path: string, body: unknown = {}) => (await labApi.handle(method, path, new URLSearchParams(), body)) as Answer;
    expect((await call('GET', '/api/state')).body.binaries).toEqual({ missing: ['kubernetes v1.34.4', 'etcd v3.6.8'], build: null });
    expect((await call('POST', '/api/lab/up', { chapter: 1 })).status).toBe(202);
    expect((await labApi.jobs.settled())?.state).toBe('done');
    binaries.advance('kube-apiserver', 3);
    expect((await call('GET', '/api/state')).body.binaries.build).toMatchObject({ state: 'building', position: 3, total: 18, current: { binary: 'kube-apiserver' } });
    const check = call('POST', '/api/check', { chapter: 2, step: 'b1' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    binaries.land('course');
    expect(await check).toMatchObject({ status: 200, body: { passed: false } });
    expect((await call('GET', '/api/state')).body.binaries).toMatchObject({ missing: [], build: { state: 'done' } });
  });
});

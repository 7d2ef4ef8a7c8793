import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, openRoomDb, schemaVersion } from '../../../src/room/db.ts';
import { placeLab, type EngineLoad } from '../../../src/room/engines.ts';
import { JoinRefused, learnersCsv } from '../../../src/room/room.ts';
import { RateLimiter } from '../../../src/util/rate-limit.ts';
import { hashToken, validRoomName } from '../../../src/room/store.ts';
import { fakeRoom, GiB, labsSettled, FakeEngine } from '../../helpers/fake-room.ts';

const q = new URLSearchParams();

describe('the room database', () => {
  it('is created in WAL mode at the latest schema; reopening applies nothing twice; a newer schema is refused', () => {
    const world = fakeRoom();
    const db = openRoomDb(world.dbPath);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    migrate(db);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(() => migrate(db, [])).toThrow(/newer than this hardway knows/);
    db.close();
  });

  it('applies migrations in order, each in a transaction: a failing one leaves the database at the last good version', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, ['CREATE TABLE a (x INTEGER);', 'CREATE TABLE b (y INTEGER); CREATE TABLE b (y INTEGER);'])).toThrow();
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toBeUndefined();
  });

  it('room names are short enough to start lab names', () => {
    expect(validRoomName('day')).toBe(true);
    expect(validRoomName('k8s-day-2026')).toBe(true);
    expect(validRoomName('Day')).toBe(false);
    expect(validRoomName('a'.repeat(21))).toBe(false);
    expect(validRoomName('day-')).toBe(false);
  });
});

describe('placing labs on engines', () => {
  const load = (id: number, memory: number, labs: number, reachable = true, maxLabs: number | null = null): EngineLoad => ({
    engine: new FakeEngine(id, `e${id}`, memory, maxLabs),
    facts: reachable ? { reachable, memoryBytes: memory } : { reachable: false },
    labs,
  });
  const perMachine = 512 * 1024 ** 2; // a lab is 2 GiB

  it('picks the engine with the most headroom, skips unreachable ones, and never over-commits', () => {
    expect(placeLab([load(1, 8 * GiB, 0), load(2, 16 * GiB, 0)], perMachine).id).toBe(2);
    expect(placeLab([load(1, 8 * GiB, 0), load(2, 16 * GiB, 4)], perMachine).id).toBe(1);
    expect(placeLab([load(1, 8 * GiB, 0, false), load(2, 16 * GiB, 6)], perMachine).id).toBe(2);
    // 16 GiB - 2 GiB reserve = 14 GiB: 7 labs of 2 GiB, not an 8th
    expect(() => placeLab([load(2, 16 * GiB, 7)], perMachine)).toThrow(/no engine has room/);
    expect(() => placeLab([load(1, 64 * GiB, 3, true, 3)], perMachine)).toThrow(/no engine has room/);
  });
});

describe('a room on fake engines', () => {
  it('pre-warms labs at its chapter, spread over the engines by headroom', async () => {
    const world = fakeRoom({ prewarm: 3 }, [8 * GiB, 12 * GiB]);
    const { room, store } = await world.open();
    await labsSettled(room);
    const labs = store.labs(room.row.id);
    expect(labs.map((l) => [l.name, l.state, l.engine_id])).toEqual([
      ['day-1', 'ready', 2],
      ['day-2', 'ready', 2],
      ['day-3', 'ready', 1],
    ]);
    // fast-forwarded: chapter 1's two steps passed, the learner lands at chapter 2
    const progress = room.labs.get('day-1')!.lab.progress();
    expect(progress.chapter).toBe(2);
    expect(progress.passed).toEqual(['1/a1', '1/a2']);
    expect(world.engines[1]!.provider.machines.get('day-1')?.size).toBe(4);
    expect(world.engines[0]!.provider.machines.get('day-1')).toBeUndefined();
  });

  it('pre-warms from a snapshot: the first lab on an engine replays and keeps one, the others start from it', async () => {
    const world = fakeRoom({ chapter: 3, prewarm: 3 }, [24 * GiB]);
    const { room, store } = await world.open();
    await labsSettled(room);
    const provider = world.engines[0]!.provider;
    expect(store.labs(room.row.id).map((l) => l.state)).toEqual(['ready', 'ready', 'ready']);
    expect(provider.snapshots.size).toBe(1);
    const [kept] = provider.snapshots.keys();
    expect(Object.fromEntries(provider.restoredFrom)).toEqual({ 'day-2': kept, 'day-3': kept });
    for (const name of ['day-1', 'day-2', 'day-3']) expect(room.labs.get(name)!.lab.progress()).toMatchObject({ chapter: 3, passed: ['1/a1', '1/a2', '2/b1', '2/b2'] });
    expect(room.labs.get('day-3')!.api.jobs.view()!.lines.map((l) => l.text).join('\n')).toMatch(/the room's first lab on this engine is made: starting from its snapshot/);
  });

  it('a join takes a pre-warmed lab at once; with none left it builds one; wrong codes, bad names and floods are refused', async () => {
    const world = fakeRoom({ prewarm: 1 });
    const { room, store } = await world.open({ limiter: new RateLimiter({ perKey: { burst: 4, perMinute: 4 }, all: { burst: 100, perMinute: 100 } }) });
    await labsSettled(room);
    const code = room.row.join_code;
    expect(() => room.join('WRONG1', 'Ann', 'ip-a')).toThrow(/not the join code/);
    expect(() => room.join(code, '  ', 'ip-a')).toThrow(/a name is 1 to 40/);
    expect(() => room.join(code, '<script>', 'ip-a')).toThrow(/a name is/);
    const ann = room.join(code.toLowerCase(), ' Ann  Lee ', 'ip-a');
    expect(ann.learner.name).toBe('Ann Lee');
    expect(ann.lab).toMatchObject({ name: 'day-1', state: 'ready' });
    let refused: unknown;
    try {
      room.join(code, 'Flood', 'ip-a');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(JoinRefused);
    expect((refused as JoinRefused).status).toBe(429);
    const bob = room.join(code, 'Bob', 'ip-b');
    expect(bob.lab).toMatchObject({ name: 'day-2', state: 'building' });
    const job = room.labs.get('day-2')!.api.jobs.view();
    expect(job).toMatchObject({ kind: 'up', state: 'running' });
    await labsSettled(room);
    expect(store.labByName('day-2')!.state).toBe('ready');
    expect(store.events(room.row.id).filter((e) => e.kind === 'join').map((e) => JSON.parse(e.detail!).prewarmed)).toEqual([true, false]);
  });

  it('stores tokens hashed: no token appears anywhere in the database file', async () => {
    const world = fakeRoom();
    const { room, store } = await world.open();
    const { token } = room.join(room.row.join_code, 'Ann', 'ip');
    await labsSettled(room);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = readFileSync(world.dbPath).toString('latin1');
    expect(bytes).not.toContain(token);
    expect(bytes).not.toContain(world.instructorToken);
    expect(bytes).toContain(hashToken(token));
  });

  it("a learner's token opens only their own lab, and never the board", async () => {
    const world = fakeRoom();
    const { room } = await world.open();
    const ann = room.join(room.row.join_code, 'Ann', 'a');
    const bob = room.join(room.row.join_code, 'Bob', 'b');
    expect(room.labFor(ann.token, ann.lab.name)?.learner.id).toBe(ann.learner.id);
    expect(room.labFor(ann.token, bob.lab.name)).toBeNull();
    expect(room.labFor('', ann.lab.name)).toBeNull();
    expect(room.labFor(world.instructorToken, ann.lab.name)).toBeNull();
    expect(room.isInstructor(ann.token)).toBe(false);
    expect(room.isInstructor(world.instructorToken)).toBe(true);
    expect(room.isInstructor(world.instructorToken.slice(0, -1))).toBe(false);
  });

  it('the board follows checks, hints, faults broken for everyone and fixed by one; time on step and stuck', async () => {
    let now = 1_000_000;
    const world = fakeRoom();
    const { room } = await world.open({ now: () => now, stuckMs: 60_000 });
    const ann = room.join(room.row.join_code, 'Ann', 'a');
    const bob = room.join(room.row.join_code, 'Bob', 'b');
    await labsSettled(room);
    const annLab = room.labFor(ann.token, ann.lab.name)!;
    // Ann does step b1 of chapter 2: a failing check, a hint, then the fact set and a passing check
    await room.learnerCall(ann.learner, annLab.runtime, 'POST', '/api/check', q, { chapter: 2, step: 'b1' });
    await room.learnerCall(ann.learner, annLab.runtime, 'POST', '/api/hint', q, { chapter: 2, step: 'b1' });
    now += 30_000;
    const annProvider = annLab.runtime.engine.provider as unknown as FakeEngine['provider'];
    annProvider.factsOf(ann.lab.name).add('b1');
    const passed = await room.learnerCall(ann.learner, annLab.runtime, 'POST', '/api/check', q, { chapter: 2, step: 'b1' });
    expect(passed.body).toMatchObject({ passed: true });
    now += 90_000;
    let views = room.learnerViews();
    expect(views.map((v) => [v.name, v.chapter, v.step, v.checksPassed, v.checksFailed, v.hintsUsed, v.stuck])).toEqual([
      ['Ann', 2, 'b2', 1, 1, 1, true],
      ['Bob', 2, 'b1', 0, 0, 0, true],
    ]);
    expect(views[0]!.onStepMs).toBe(90_000);

    for (const who of [ann, bob]) (room.labs.get(who.lab.name)!.engine.provider as unknown as FakeEngine['provider']).factsOf(who.lab.name).add('healthy');
    expect(() => room.breakFor('all', { id: 'no-such' })).toThrow(/no fault/);
    const broke = room.breakFor('all', { id: 'etcd-down' });
    expect(broke).toEqual({ started: ['Ann', 'Bob'], refused: [] });
    await Promise.all([...room.labs.values()].map((r) => r.api.jobs.settled()));
    views = room.learnerViews();
    expect(views.map((v) => v.fault && [v.fault.id, v.fault.hidden])).toEqual([
      ['etcd-down', true],
      ['etcd-down', true],
    ]);
    // learners see it as a surprise: no name in their state
    const annState = (await room.learnerCall(ann.learner, annLab.runtime, 'GET', '/api/state', q, {})).body as { fault: { hidden: boolean; id?: string } };
    expect(annState.fault).toMatchObject({ hidden: true });
    expect(annState.fault.id).toBeUndefined();
    expect(room.breakFor([ann.learner.id], {}).refused).toEqual([{ learner: 'Ann', error: 'it already has a fault to fix' }]);
    // Ann fixes it
    annProvider.factsOf(ann.lab.name).add('healthy');
    const fixed = await room.learnerCall(ann.learner, annLab.runtime, 'POST', '/api/fault/check', q, {});
    expect(fixed.body).toMatchObject({ passed: true });
    views = room.learnerViews();
    expect(views.map((v) => [v.name, v.fault?.id ?? null, v.faultsFixed])).toEqual([
      ['Ann', null, 1],
      ['Bob', 'etcd-down', 0],
    ]);
    expect(learnersCsv(views)).toMatch(/^name,lab,engine.*\nAnn,day-1,fake:\/\/engine-\d,2,b2,3,1,1,1,1,\nBob,day-2,.*etcd-down\n$/s);
  });

  it('the export says when each learner passed each step: a CSV column per step of the course, and the JSON record', async () => {
    const world = fakeRoom();
    const { room } = await world.open();
    const ann = room.join(room.row.join_code, 'Ann', 'a');
    const bob = room.join(room.row.join_code, 'Bob', 'b');
    await labsSettled(room);
    const annLab = room.labFor(ann.token, ann.lab.name)!;
    (annLab.runtime.engine.provider as unknown as FakeEngine['provider']).factsOf(ann.lab.name).add('b1');
    const before = new Date().toISOString();
    await room.learnerCall(ann.learner, annLab.runtime, 'POST', '/api/check', q, { chapter: 2, step: 'b1' });
    // Bob's lab kept its progress before times were kept: his pass has no time
    writeFileSync(join(world.dir, 'labs', bob.lab.name, 'progress.json'), JSON.stringify({ chapter: 2, passed: ['1/a1'] }));

    const [annView, bobView] = room.learnerViews();
    expect(Object.keys(annView!.passedAt)).toEqual(['1/a1', '1/a2', '2/b1']);
    expect(annView!.passedAt['2/b1']! >= before).toBe(true);
    expect(bobView!.passedAt).toEqual({ '1/a1': null });
    expect(room.exportRecord().learners[0]!.passedAt).toEqual(annView!.passedAt);

    const [header, annRow, bobRow] = room.exportCsv().trimEnd().split('\n').map((line) => line.split(','));
    expect(header!.slice(0, 11)).toEqual(['name', 'lab', 'engine', 'chapter', 'step', 'steps_passed', 'checks_passed', 'checks_failed', 'hints_used', 'faults_fixed', 'active_fault']);
    expect(header!.slice(11)).toEqual(['1/a1', '1/a2', '2/b1', '2/b2', '3/c1', '3/c2'].map((key) => `passed_at_${key}`));
    expect(annRow!.slice(11)).toEqual([annView!.passedAt['1/a1'], annView!.passedAt['1/a2'], annView!.passedAt['2/b1'], '', '', '']);
    expect(annRow![13]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(bobRow!.slice(11)).toEqual(['passed', '', '', '', '', '']);
  });

  it('killed and started again, it carries on: the same tokens, labs, history; a lab being made is finished', async () => {
    const world = fakeRoom({ prewarm: 1 });
    const first = await world.open();
    await labsSettled(first.room);
    const ann = first.room.join(first.room.row.join_code, 'Ann', 'a');
    const bob = first.room.join(first.room.row.join_code, 'Bob', 'b'); // building, not finished: the process "dies" now
    expect(first.store.labByName(bob.lab.name)!.state).toBe('building');
    await first.room.close();
    first.store.db.close();

    const second = await world.open();
    expect(second.room.labFor(ann.token, ann.lab.name)?.learner.name).toBe('Ann');
    expect(second.room.labFor(bob.token, bob.lab.name)?.learner.name).toBe('Bob');
    await labsSettled(second.room);
    expect(second.store.labByName(bob.lab.name)!.state).toBe('ready');
    expect(second.room.learnerViews().map((v) => [v.name, v.chapter])).toEqual([
      ['Ann', 2],
      ['Bob', 2],
    ]);
    expect(second.store.events(second.room.row.id).filter((e) => e.kind === 'join')).toHaveLength(2);
    // pre-warm is not redone: the room already has its labs
    expect(second.store.labs(second.room.row.id)).toHaveLength(2);
  });

  it('an engine that goes away is told to its learners; the others carry on; the board shows it', async () => {
    const world = fakeRoom({ prewarm: 2 }, [10 * GiB, 10 * GiB]);
    const { room } = await world.open();
    await labsSettled(room);
    const ann = room.join(room.row.join_code, 'Ann', 'a');
    const bob = room.join(room.row.join_code, 'Bob', 'b');
    expect([ann.lab.engine_id, bob.lab.engine_id]).toEqual([1, 2]);
    world.engines[1]!.down = true;
    await room.refreshEngines();
    const bobLab = room.labFor(bob.token, bob.lab.name)!;
    const refused = await room.learnerCall(bob.learner, bobLab.runtime, 'GET', '/api/state', q, {});
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: expect.stringMatching(/not answering/) });
    const annLab = room.labFor(ann.token, ann.lab.name)!;
    expect((await room.learnerCall(ann.learner, annLab.runtime, 'GET', '/api/state', q, {})).status).toBe(200);
    expect(room.engineLoads().map((e) => [e.spec, e.state, e.labs])).toEqual([
      ['fake://engine-1', 'up', 1],
      ['fake://engine-2', 'down', 1],
    ]);
    expect(room.learnerViews().map((v) => v.engineState)).toEqual(['up', 'down']);
    expect(room.store.events(room.row.id).some((e) => e.kind === 'engine-down')).toBe(true);
    // a new join avoids the engine that is away
    const cy = room.join(room.row.join_code, 'Cy', 'c');
    expect(cy.lab.engine_id).toBe(1);
  });

  it('ending the room removes every lab on every engine, including one still being made, and refuses joins', async () => {
    const world = fakeRoom({ prewarm: 3 });
    const { room, store } = await world.open();
    await labsSettled(room);
    room.join(room.row.join_code, 'Ann', 'a');
    room.join(room.row.join_code, 'Bob', 'b');
    room.join(room.row.join_code, 'Cy', 'c');
    room.join(room.row.join_code, 'Dee', 'd'); // still building
    const total = () => world.engines.reduce((n, e) => n + [...e.provider.machines.values()].reduce((m, lab) => m + lab.size, 0), 0);
    await room.end();
    expect(total()).toBe(0);
    expect(store.labs(room.row.id, { removed: true }).map((l) => l.state)).toEqual(['removed', 'removed', 'removed', 'removed']);
    expect(() => room.join(room.row.join_code, 'Late', 'e')).toThrow(/ended/);
  });
});

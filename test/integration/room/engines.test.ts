import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCourseData } from '../../../src/engine/session.ts';
import { createRoom, openRoom } from '../../../src/room/open.ts';
import type { Room } from '../../../src/room/room.ts';
import { startRoomServer, type RunningRoomServer } from '../../../src/web/room-server.ts';
import { ensureUiBuilt } from '../../../src/web/ui-build.ts';
import { connectEngine } from '../../../vm/engine.ts';
import { LAB_LABEL } from '../../../vm/docker-provider.ts';
import { ensureEngine } from '../../helpers/engine.ts';
import { GiB, labsSettled } from '../../helpers/fake-room.ts';
import { freePort } from '../../helpers/processes.ts';
import { startSecondEngine, type SecondEngine } from '../../helpers/second-engine.ts';

/**
 * A real room on two engines of this host: the main dockerd ("local") and a second dockerd of the
 * test's own (test/helpers/second-engine.ts). Learners join through the room server's API; their
 * labs are placed by headroom, one on each engine; ending the room leaves nothing of it on either.
 */
const suffix = process.pid.toString(36).slice(-4);
const ROOM = `eng-${suffix}`;
const LIMITS = { memoryBytes: GiB, pids: 2048, diskBytes: 0 };

describe('a room on two Docker engines of one host', () => {
  const stateBefore = process.env.HARDWAY_STATE;
  const state = mkdtempSync(join(tmpdir(), 'hardway-engines-'));
  let second: SecondEngine;
  let local: Docker;
  let room: Room;
  let server: RunningRoomServer;
  let instructorToken: string;
  let base: string;
  const joined: { name: string; lab: string; token: string }[] = [];

  beforeAll(async () => {
    process.env.HARDWAY_STATE = state;
    await ensureEngine();
    local = connectEngine();
    second = await startSecondEngine({ subnetPrefix: '10.241' });
    console.log(`engines test: the second dockerd answered ${second.startMs} ms after it was started`);
    const course = loadCourseData();
    ({ instructorToken } = createRoom(course, {
      name: ROOM,
      chapter: 1,
      capacity: 4,
      prewarm: 0,
      durationMs: 3600_000,
      engines: ['local', `${second.host}?subnet=${second.subnetPrefix}`],
      limits: LIMITS,
    }));
    ({ room } = openRoom(course, ROOM, { log: (line) => console.log(line) }));
    await room.start();
    server = await startRoomServer({ room, host: '127.0.0.1', port: await freePort(), uiDir: await ensureUiBuilt(), log: (line) => console.log(line) });
    base = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.close();
    await room?.end().catch(() => undefined);
    await second?.stop();
    rmSync(state, { recursive: true, force: true });
    if (stateBefore === undefined) delete process.env.HARDWAY_STATE;
    else process.env.HARDWAY_STATE = stateBefore;
  });

  const board = async (): Promise<{ engines: { id: number; spec: string; state: string; labs: number }[]; labs: { name: string; engine: number; state: string; error: string | null }[] }> => {
    const response = await fetch(`${base}/board/api/state`, { headers: { Authorization: `Bearer ${instructorToken}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as never;
  };

  it('sees both engines up', async () => {
    const { engines } = await board();
    expect(engines.map((e) => e.state)).toEqual(['up', 'up']);
  });

  it('places two learners\' labs one on each engine, by headroom, and each lab\'s machines run on the engine the room says', async () => {
    for (const name of ['ada', 'grace']) {
      const response = await fetch(`${base}/room/api/join`, {
        method: 'POST',
        headers: { Origin: base, 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: room.row.join_code, name }),
      });
      expect(response.status, await response.clone().text()).toBe(200);
      const body = (await response.json()) as { token: string; lab: string };
      joined.push({ name, lab: body.lab, token: body.token });
    }
    const started = Date.now();
    await labsSettled(room);
    console.log(`engines test: two chapter-1 labs made in ${Date.now() - started} ms`);
    const state = await board();
    for (const lab of state.labs) expect(lab.state, `${lab.name}: ${lab.error}`).toBe('ready');
    const engineOf = new Map(state.labs.map((l) => [l.name, l.engine]));
    const [localEngine, secondEngine] = state.engines;
    expect(new Set(joined.map((j) => engineOf.get(j.lab)))).toEqual(new Set([localEngine!.id, secondEngine!.id]));
    const dockerOf = (id: number): Docker => (id === localEngine!.id ? local : second.docker);
    for (const { lab } of joined) {
      const here = dockerOf(engineOf.get(lab)!);
      const there = here === local ? second.docker : local;
      const machines = await here.listContainers({ filters: { label: [`${LAB_LABEL}=${lab}`] } });
      expect(machines.map((m) => m.State)).toEqual(['running', 'running', 'running', 'running']);
      expect(await there.listContainers({ all: true, filters: { label: [`${LAB_LABEL}=${lab}`] } })).toHaveLength(0);
      // The learner's own API grades their lab on that engine: chapter 1's step fails before it is solved.
      const check = await fetch(`${base}/lab/${lab}/api/check`, {
        method: 'POST',
        headers: { Origin: base, Authorization: `Bearer ${joined.find((j) => j.lab === lab)!.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ chapter: 1, step: 'machine-database' }),
      });
      expect(check.status).toBe(200);
      expect(((await check.json()) as { passed: boolean }).passed).toBe(false);
      const bytes = await labMemory(here, machines.map((m) => m.Id));
      console.log(`engines test: lab ${lab} on ${here === local ? 'the local engine' : 'the second engine'}: ${(bytes / 1024 ** 2).toFixed(0)} MiB for its 4 machines`);
    }
  }, 900_000);

  it('ending the room leaves no container, network or volume of it on either engine', async () => {
    await room.end();
    for (const docker of [local, second.docker]) {
      for (const { lab } of joined) {
        const filters = { label: [`${LAB_LABEL}=${lab}`] };
        expect(await docker.listContainers({ all: true, filters })).toHaveLength(0);
        expect(await docker.listNetworks({ filters })).toHaveLength(0);
        expect((await docker.listVolumes({ filters })).Volumes ?? []).toHaveLength(0);
      }
    }
  }, 120_000);
});

/** What a lab's machines use now (cgroup memory, page cache excluded as `docker stats` shows it). */
async function labMemory(docker: Docker, ids: string[]): Promise<number> {
  const stats = await Promise.all(ids.map((id) => docker.getContainer(id).stats({ stream: false }) as Promise<{ memory_stats: { usage?: number; stats?: { cache?: number; total_inactive_file?: number } } }>));
  return stats.reduce((sum, s) => sum + (s.memory_stats.usage ?? 0) - (s.memory_stats.stats?.total_inactive_file ?? s.memory_stats.stats?.cache ?? 0), 0);
}

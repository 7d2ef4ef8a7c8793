import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Course } from '../../src/engine/lab.ts';
import { openRoomDb } from '../../src/room/db.ts';
import type { EngineFacts, RoomEngine } from '../../src/room/engines.ts';
import { RateLimiter } from '../../src/util/rate-limit.ts';
import { Room, type RoomOptions } from '../../src/room/room.ts';
import { RoomStore, type NewRoom } from '../../src/room/store.ts';
import { fakeCourse, FAST_SETUP } from './fake-course.ts';
import { FakeProvider } from './fake-provider.ts';

export const GiB = 1024 ** 3;

/** A fake engine: an in-memory provider with a memory size, that can be made to go away. */
export class FakeEngine implements RoomEngine {
  readonly provider = new FakeProvider();
  down = false;
  constructor(
    readonly id: number,
    readonly spec: string,
    public memoryBytes: number,
    readonly maxLabs: number | null = null,
  ) {}

  async probe(): Promise<EngineFacts> {
    this.provider.engineDown = this.down;
    return this.down ? { reachable: false, detail: 'fake engine stopped' } : { reachable: true, apiVersion: '1.41', memoryBytes: this.memoryBytes };
  }

  async close(): Promise<void> {}
}

export interface FakeRoomWorld {
  dir: string;
  dbPath: string;
  course: Course;
  engines: FakeEngine[];
  instructorToken: string;
  /** Opens the room as `lab room serve` does: a new database connection, a new Room, started. */
  open(options?: RoomOptions): Promise<{ room: Room; store: RoomStore }>;
}

/** A room on fake engines, with its own state folder and database file. */
export function fakeRoom(spec: Partial<NewRoom> = {}, memories: number[] = [24 * GiB, 24 * GiB]): FakeRoomWorld {
  const dir = mkdtempSync(join(tmpdir(), 'hardway-room-'));
  process.env.HARDWAY_STATE = dir;
  const dbPath = join(dir, 'rooms.db');
  const engines = memories.map((memory, i) => new FakeEngine(i + 1, `fake://engine-${i + 1}`, memory));
  const store = new RoomStore(openRoomDb(dbPath));
  const { instructorToken } = store.createRoom({
    name: 'day',
    chapter: 2,
    capacity: 10,
    prewarm: 0,
    durationMs: 8 * 3600_000,
    engines: engines.map((e) => ({ spec: e.spec })),
    limits: { memoryBytes: 512 * 1024 ** 2, pids: 1000, diskBytes: 0 },
    ...spec,
  });
  store.db.close();
  const course = fakeCourse();
  return {
    dir,
    dbPath,
    course,
    engines,
    instructorToken,
    async open(options: RoomOptions = {}) {
      const reopened = new RoomStore(openRoomDb(dbPath));
      const row = reopened.roomByName(spec.name ?? 'day')!;
      const room = new Room(reopened, row, course, engines, { setup: FAST_SETUP, log: () => {}, limiter: new RateLimiter({ perKey: { burst: 100, perMinute: 100 }, all: { burst: 1000, perMinute: 1000 } }), ...options });
      await room.start();
      return { room, store: reopened };
    },
  };
}

/** Waits until every lab of the room has finished being made. */
export async function labsSettled(room: Room): Promise<void> {
  for (;;) {
    const runtimes = [...room.labs.values()];
    await Promise.all(runtimes.map((r) => r.api.jobs.settled()));
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (room.store.labs(room.row.id).every((l) => l.state !== 'building')) return;
  }
}

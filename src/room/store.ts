import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Db } from './db.ts';

/** Per-lab limits a room puts on every machine of every lab. */
export interface LabLimits {
  /** Memory per machine, in bytes (0: none). */
  memoryBytes: number;
  /** Processes per machine (0: none). */
  pids: number;
  /** Disk for a machine's writable layer and volumes, in bytes (0: none; needs an engine whose storage supports quotas). */
  diskBytes: number;
}

export interface RoomRow {
  id: number;
  name: string;
  chapter: number;
  capacity: number;
  prewarm: number;
  join_code: string;
  instructor_token_hash: string;
  limits: string;
  created_at: number;
  ends_at: number;
  ended_at: number | null;
}

export interface EngineRow {
  id: number;
  room_id: number;
  spec: string;
  max_labs: number | null;
  state: 'unknown' | 'up' | 'down';
  api_version: string | null;
  memory_bytes: number | null;
  detail: string | null;
  checked_at: number | null;
}

export type LabRowState = 'building' | 'ready' | 'failed' | 'removed';

export interface LabRow {
  id: number;
  room_id: number;
  name: string;
  engine_id: number;
  state: LabRowState;
  chapter: number;
  error: string | null;
  created_at: number;
  ready_at: number | null;
  removed_at: number | null;
}

export interface LearnerRow {
  id: number;
  room_id: number;
  name: string;
  token_hash: string;
  lab_id: number | null;
  joined_at: number;
  last_seen_at: number;
}

export type EventKind = 'join' | 'check' | 'hint' | 'solve' | 'fault-break' | 'fault-check' | 'fault-fixed' | 'fault-giveup' | 'reset' | 'engine-down' | 'engine-up';

export interface EventRow {
  id: number;
  room_id: number;
  learner_id: number | null;
  lab_id: number | null;
  at: number;
  kind: EventKind;
  chapter: number | null;
  step: string | null;
  passed: number | null;
  detail: string | null;
}

export interface MessageRow {
  id: number;
  room_id: number;
  at: number;
  text: string;
}

/** Tokens are 32 random bytes; only their SHA-256 is stored (a high-entropy token needs no slow hash). */
export const newToken = (): string => randomBytes(32).toString('base64url');
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Join codes are read off a projector: no 0/O, 1/I/L. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const newJoinCode = (): string => Array.from({ length: 6 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');

export interface NewRoom {
  name: string;
  chapter: number;
  capacity: number;
  prewarm: number;
  durationMs: number;
  engines: { spec: string; maxLabs?: number }[];
  limits: LabLimits;
}

/** The room's records, in its SQLite database: the one place a room's state lives. */
export class RoomStore {
  constructor(readonly db: Db) {}

  createRoom(spec: NewRoom, now = Date.now()): { room: RoomRow; instructorToken: string } {
    const instructorToken = newToken();
    const room = this.db.transaction(() => {
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO rooms (name, chapter, capacity, prewarm, join_code, instructor_token_hash, limits, created_at, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(spec.name, spec.chapter, spec.capacity, spec.prewarm, newJoinCode(), hashToken(instructorToken), JSON.stringify(spec.limits), now, now + spec.durationMs);
      const insert = this.db.prepare('INSERT INTO engines (room_id, spec, max_labs) VALUES (?, ?, ?)');
      for (const engine of spec.engines) insert.run(lastInsertRowid, engine.spec, engine.maxLabs ?? null);
      return this.roomById(Number(lastInsertRowid))!;
    })();
    return { room, instructorToken };
  }

  roomById(id: number): RoomRow | undefined {
    return this.db.prepare('SELECT * FROM rooms WHERE id = ?').get(id) as RoomRow | undefined;
  }

  roomByName(name: string): RoomRow | undefined {
    return this.db.prepare('SELECT * FROM rooms WHERE name = ?').get(name) as RoomRow | undefined;
  }

  rooms(): RoomRow[] {
    return this.db.prepare('SELECT * FROM rooms ORDER BY id').all() as RoomRow[];
  }

  /** A new instructor token for the room (the old one stops working). */
  rotateInstructorToken(roomId: number): string {
    const token = newToken();
    this.db.prepare('UPDATE rooms SET instructor_token_hash = ? WHERE id = ?').run(hashToken(token), roomId);
    return token;
  }

  extend(roomId: number, ms: number): void {
    this.db.prepare('UPDATE rooms SET ends_at = ends_at + ? WHERE id = ?').run(ms, roomId);
  }

  endRoom(roomId: number, now = Date.now()): void {
    this.db.prepare('UPDATE rooms SET ended_at = COALESCE(ended_at, ?) WHERE id = ?').run(now, roomId);
  }

  limits(room: RoomRow): LabLimits {
    return JSON.parse(room.limits) as LabLimits;
  }

  engines(roomId: number): EngineRow[] {
    return this.db.prepare('SELECT * FROM engines WHERE room_id = ? ORDER BY id').all(roomId) as EngineRow[];
  }

  setEngineState(id: number, state: EngineRow['state'], fields: { apiVersion?: string; memoryBytes?: number; detail?: string }, now = Date.now()): void {
    this.db
      .prepare('UPDATE engines SET state = ?, api_version = COALESCE(?, api_version), memory_bytes = COALESCE(?, memory_bytes), detail = ?, checked_at = ? WHERE id = ?')
      .run(state, fields.apiVersion ?? null, fields.memoryBytes ?? null, fields.detail ?? null, now, id);
  }

  addLab(roomId: number, engineId: number, chapter: number, now = Date.now()): LabRow {
    return this.db.transaction(() => {
      const room = this.roomById(roomId)!;
      const count = (this.db.prepare('SELECT COUNT(*) AS n FROM labs WHERE room_id = ?').get(roomId) as { n: number }).n;
      // Lab names become Docker names: the room's name and a number (both kept short, see validRoomName).
      const name = `${room.name}-${count + 1}`;
      const { lastInsertRowid } = this.db
        .prepare("INSERT INTO labs (room_id, name, engine_id, state, chapter, created_at) VALUES (?, ?, ?, 'building', ?, ?)")
        .run(roomId, name, engineId, chapter, now);
      return this.labById(Number(lastInsertRowid))!;
    })();
  }

  labById(id: number): LabRow | undefined {
    return this.db.prepare('SELECT * FROM labs WHERE id = ?').get(id) as LabRow | undefined;
  }

  labByName(name: string): LabRow | undefined {
    return this.db.prepare('SELECT * FROM labs WHERE name = ?').get(name) as LabRow | undefined;
  }

  /** The room's labs that exist (or are being made), oldest first. */
  labs(roomId: number, { removed = false } = {}): LabRow[] {
    const sql = removed ? 'SELECT * FROM labs WHERE room_id = ? ORDER BY id' : "SELECT * FROM labs WHERE room_id = ? AND state != 'removed' ORDER BY id";
    return this.db.prepare(sql).all(roomId) as LabRow[];
  }

  setLabState(id: number, state: LabRowState, error: string | null = null, now = Date.now()): void {
    this.db
      .prepare("UPDATE labs SET state = ?, error = ?, ready_at = CASE WHEN ? = 'ready' THEN ? ELSE ready_at END, removed_at = CASE WHEN ? = 'removed' THEN ? ELSE removed_at END WHERE id = ?")
      .run(state, error, state, now, state, now, id);
  }

  /** Labs no learner has, usable now ('ready') or soon ('building'), ready ones first. */
  freeLabs(roomId: number): LabRow[] {
    return this.db
      .prepare(
        "SELECT labs.* FROM labs LEFT JOIN learners ON learners.lab_id = labs.id WHERE labs.room_id = ? AND learners.id IS NULL AND labs.state IN ('ready', 'building') ORDER BY labs.state = 'ready' DESC, labs.id",
      )
      .all(roomId) as LabRow[];
  }

  /** Adds a learner holding a lab; the lab is taken in the same transaction, so two joins never share one. */
  addLearner(roomId: number, name: string, tokenHash: string, pickLab: () => number, now = Date.now()): LearnerRow {
    return this.db.transaction(() => {
      const labId = pickLab();
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO learners (room_id, name, token_hash, lab_id, joined_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(roomId, name, tokenHash, labId, now, now);
      return this.learnerById(Number(lastInsertRowid))!;
    })();
  }

  learnerById(id: number): LearnerRow | undefined {
    return this.db.prepare('SELECT * FROM learners WHERE id = ?').get(id) as LearnerRow | undefined;
  }

  learnerByToken(token: string): LearnerRow | undefined {
    if (!token) return undefined;
    return this.db.prepare('SELECT * FROM learners WHERE token_hash = ?').get(hashToken(token)) as LearnerRow | undefined;
  }

  learnerOfLab(labId: number): LearnerRow | undefined {
    return this.db.prepare('SELECT * FROM learners WHERE lab_id = ?').get(labId) as LearnerRow | undefined;
  }

  learners(roomId: number): LearnerRow[] {
    return this.db.prepare('SELECT * FROM learners WHERE room_id = ? ORDER BY id').all(roomId) as LearnerRow[];
  }

  touchLearner(id: number, now = Date.now()): void {
    this.db.prepare('UPDATE learners SET last_seen_at = ? WHERE id = ?').run(now, id);
  }

  addEvent(event: { roomId: number; learnerId?: number | null; labId?: number | null; kind: EventKind; chapter?: number | null; step?: string | null; passed?: boolean | null; detail?: object | null }, now = Date.now()): void {
    this.db
      .prepare('INSERT INTO events (room_id, learner_id, lab_id, at, kind, chapter, step, passed, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        event.roomId,
        event.learnerId ?? null,
        event.labId ?? null,
        now,
        event.kind,
        event.chapter ?? null,
        event.step ?? null,
        event.passed === undefined || event.passed === null ? null : event.passed ? 1 : 0,
        event.detail ? JSON.stringify(event.detail) : null,
      );
  }

  events(roomId: number, learnerId?: number): EventRow[] {
    if (learnerId !== undefined) return this.db.prepare('SELECT * FROM events WHERE room_id = ? AND learner_id = ? ORDER BY id').all(roomId, learnerId) as EventRow[];
    return this.db.prepare('SELECT * FROM events WHERE room_id = ? ORDER BY id').all(roomId) as EventRow[];
  }

  addMessage(roomId: number, text: string, now = Date.now()): MessageRow {
    const { lastInsertRowid } = this.db.prepare('INSERT INTO messages (room_id, at, text) VALUES (?, ?, ?)').run(roomId, now, text);
    return this.db.prepare('SELECT * FROM messages WHERE id = ?').get(lastInsertRowid) as MessageRow;
  }

  messages(roomId: number, afterId = 0): MessageRow[] {
    return this.db.prepare('SELECT * FROM messages WHERE room_id = ? AND id > ? ORDER BY id').all(roomId, afterId) as MessageRow[];
  }
}

/** Room names start lab names (`<room>-<n>`), which Docker and the lab's rules keep to 31 characters. */
export function validRoomName(name: string): boolean {
  return /^[a-z][a-z0-9-]{0,19}$/.test(name) && !name.endsWith('-');
}

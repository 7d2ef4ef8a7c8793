import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * The room's schema, one migration per change, applied in order and recorded in SQLite's
 * user_version. Never edit a migration that has shipped: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: rooms, their engines, labs, learners, events, messages
  `
  CREATE TABLE rooms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    chapter INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    prewarm INTEGER NOT NULL,
    join_code TEXT NOT NULL,
    instructor_token_hash TEXT NOT NULL,
    limits TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    ended_at INTEGER
  );
  CREATE TABLE engines (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms(id),
    spec TEXT NOT NULL,
    max_labs INTEGER,
    state TEXT NOT NULL DEFAULT 'unknown',
    api_version TEXT,
    memory_bytes INTEGER,
    detail TEXT,
    checked_at INTEGER,
    UNIQUE (room_id, spec)
  );
  CREATE TABLE labs (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms(id),
    name TEXT NOT NULL UNIQUE,
    engine_id INTEGER NOT NULL REFERENCES engines(id),
    state TEXT NOT NULL,
    chapter INTEGER NOT NULL,
    error TEXT,
    created_at INTEGER NOT NULL,
    ready_at INTEGER,
    removed_at INTEGER
  );
  CREATE TABLE learners (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    lab_id INTEGER REFERENCES labs(id),
    joined_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX learners_lab ON learners(lab_id) WHERE lab_id IS NOT NULL;
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms(id),
    learner_id INTEGER REFERENCES learners(id),
    lab_id INTEGER REFERENCES labs(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    chapter INTEGER,
    step TEXT,
    passed INTEGER,
    detail TEXT
  );
  CREATE INDEX events_learner ON events(learner_id, at);
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms(id),
    at INTEGER NOT NULL,
    text TEXT NOT NULL
  );
  `,
];

/** Opens (creating if needed) a room database in WAL mode and brings its schema up to date. */
export function openRoomDb(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // WAL with synchronous=NORMAL survives a killed process (only an OS crash can lose the last commits).
  db.pragma('synchronous = NORMAL');
  migrate(db);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies the migrations the database has not seen, each in its own transaction. */
export function migrate(db: Db, migrations: readonly string[] = MIGRATIONS): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(`the room database is at schema ${current}, newer than this hardway knows (${migrations.length}): upgrade hardway`);
  }
  for (let version = current; version < migrations.length; version += 1) {
    db.transaction(() => {
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

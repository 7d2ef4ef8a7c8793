import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Course } from '../engine/lab.ts';
import { LabError } from '../util/errors.ts';
import { stateDir } from '../util/paths.ts';
import { openRoomDb } from './db.ts';
import { DockerRoomEngine, parseEngineSpec } from './docker-engines.ts';
import { Room, type RoomOptions } from './room.ts';
import { RoomStore, validRoomName, type LabLimits, type RoomRow } from './store.ts';

export const roomDbPath = (): string => join(stateDir(), 'rooms', 'rooms.db');
/** The instructor's token in plain text, readable by the instructor's user only: the database keeps its hash. */
export const instructorTokenFile = (room: string): string => join(stateDir(), 'rooms', `${room}.instructor-token`);

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
export function parseDuration(text: string): number {
  const match = text.trim().match(/^(\d+(?:\.\d+)?)\s*([smhd])$/i);
  if (!match) throw new LabError(`"${text}" is not a duration`, 'write it like 8h, 90m or 1d', 2);
  return Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
}

const SIZES: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
export function parseSize(text: string): number {
  if (text === '0') return 0;
  const match = text.trim().match(/^(\d+(?:\.\d+)?)\s*([kmg])i?b?$/i);
  if (!match) throw new LabError(`"${text}" is not a size`, 'write it like 1g, 768m or 0 for none', 2);
  return Math.round(Number(match[1]) * SIZES[match[2]!.toLowerCase()]!);
}

export interface CreateRoomOptions {
  name: string;
  chapter: number;
  capacity: number;
  prewarm: number;
  durationMs: number;
  engines: string[];
  limits: LabLimits;
}

export function createRoom(course: Course, options: CreateRoomOptions): { room: RoomRow; instructorToken: string } {
  if (!validRoomName(options.name)) throw new LabError(`"${options.name}" is not a valid room name`, 'lowercase letters, digits and dashes, starting with a letter, at most 20 characters', 2);
  if (!course.chapters.some((c) => c.number === options.chapter)) throw new LabError(`there is no chapter ${options.chapter}`, 'see lab chapters', 2);
  if (!Number.isInteger(options.capacity) || options.capacity < 1 || options.capacity > 200) throw new LabError('--capacity is 1 to 200 learners', undefined, 2);
  if (!Number.isInteger(options.prewarm) || options.prewarm < 0 || options.prewarm > options.capacity) throw new LabError('--prewarm is 0 to the capacity', undefined, 2);
  const engines = (options.engines.length ? options.engines : ['local']).map((spec) => ({ spec, maxLabs: parseEngineSpec(spec).maxLabs ?? undefined }));
  const store = new RoomStore(openRoomDb(roomDbPath()));
  try {
    const existing = store.roomByName(options.name);
    if (existing && existing.ended_at === null) throw new LabError(`room ${options.name} exists and has not ended`, `serve it (lab room serve ${options.name}) or end it (lab room end ${options.name})`);
    if (existing) throw new LabError(`room ${options.name} existed before (its record is kept)`, 'pick another name');
    const created = store.createRoom({ ...options, engines });
    const file = instructorTokenFile(options.name);
    writeFileSync(file, `${created.instructorToken}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return created;
  } finally {
    store.db.close();
  }
}

/** The room, with real engines: the one named, or the only one that has not ended. */
export function openRoom(course: Course, name: string | undefined, options: RoomOptions = {}): { room: Room; store: RoomStore; instructorToken: string | null } {
  const store = new RoomStore(openRoomDb(roomDbPath()));
  const open = store.rooms().filter((r) => r.ended_at === null);
  const row = name ? store.roomByName(name) : open.length === 1 ? open[0] : undefined;
  if (!row) {
    store.db.close();
    if (name) throw new LabError(`there is no room ${name}`, 'create it: lab room create <name>');
    throw new LabError(open.length ? `${open.length} rooms are open: say which` : 'there is no open room', open.length ? `one of: ${open.map((r) => r.name).join(', ')}` : 'create one: lab room create <name>', 2);
  }
  const limits = store.limits(row);
  const engines = store.engines(row.id).map((e) => new DockerRoomEngine(e.id, parseEngineSpec(e.spec), { memoryBytes: limits.memoryBytes, pids: limits.pids }));
  const file = instructorTokenFile(row.name);
  const instructorToken = existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
  return { room: new Room(store, row, course, engines, options), store, instructorToken };
}

/**
 * The certificate the room serves: the instructor's, or one made for this address (kept, so the
 * learners' browsers see the same one after a restart). Returns its SHA-256 fingerprint to print.
 */
export function roomCertificate(host: string, given?: { cert: string; key: string }): { cert: string; key: string; fingerprint: string } {
  let certPath = given?.cert;
  let keyPath = given?.key;
  if (!certPath || !keyPath) {
    const dir = join(stateDir(), 'rooms', 'tls');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    certPath = join(dir, `${host}.crt`);
    keyPath = join(dir, `${host}.key`);
    if (!existsSync(certPath) || !existsSync(keyPath)) {
      const san = isIP(host) ? `IP:${host}` : `DNS:${host}`;
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30', '-keyout', keyPath, '-out', certPath, '-subj', `/CN=hardway room ${host}`, '-addext', `subjectAltName=${san},DNS:localhost,IP:127.0.0.1`], { stdio: 'pipe' });
      chmodSync(keyPath, 0o600);
    }
  }
  const cert = readFileSync(certPath, 'utf8');
  return { cert, key: readFileSync(keyPath, 'utf8'), fingerprint: new X509Certificate(cert).fingerprint256 };
}

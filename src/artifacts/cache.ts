import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../util/paths.ts';
import { platformName, type Component, type Platform } from './manifest.ts';
import type { SourceName } from './sources/names.ts';

export type { SourceName };
/** Each cached binary's SHA-256 as it landed: what a binary built from source or copied is checked against later. */
export const INDEX_FILE = 'SHA256SUMS';
/** The release files the binaries came from (official or mirror), with the SHA-256 each had: its pin, checked. */
export const RELEASE_INDEX_FILE = 'RELEASE-SHA256SUMS';
const ORIGIN_FILE = 'ORIGIN';

export const artifactsRoot = (): string => join(cacheDir(), 'artifacts');

/** One folder per component, version and platform, e.g. artifacts/kubernetes-v1.35.8-linux-amd64/. */
export const componentDir = (component: Component, platform: Platform): string =>
  join(artifactsRoot(), `${component.name}-${component.version}-${platformName(platform)}`);

export const binaryPath = (component: Component, binary: string, platform: Platform): string =>
  join(componentDir(component, platform), binary);

export function isCached(component: Component, platform: Platform): boolean {
  const dir = componentDir(component, platform);
  return existsSync(join(dir, INDEX_FILE)) && component.binaries.every((binary) => existsSync(join(dir, binary)));
}

export function cachedOrigin(component: Component, platform: Platform): SourceName | null {
  const file = join(componentDir(component, platform), ORIGIN_FILE);
  return existsSync(file) ? (readFileSync(file, 'utf8').trim() as SourceName) : null;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function formatIndex(entries: Map<string, string>): string {
  return [...entries].map(([name, sum]) => `${sum}  ${name}\n`).join('');
}

export function parseIndex(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = line.match(/^([0-9a-f]{64})\s+\*?(.+)$/);
    if (match) entries.set(match[2]!.trim(), match[1]!);
  }
  return entries;
}

/**
 * Moves obtained binaries into the cache all at once: they are written beside the final folder and
 * renamed into place, so a half-obtained component is never taken for a cached one. `release` names
 * the release files they came from, with the SHA-256 each was checked to have.
 */
export async function landComponent(component: Component, platform: Platform, files: Map<string, string>, origin: SourceName, release?: Map<string, string>): Promise<void> {
  const dir = componentDir(component, platform);
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const sums = new Map<string, string>();
    for (const binary of component.binaries) {
      const from = files.get(binary);
      if (!from) throw new Error(`${component.name}: ${binary} was not obtained`);
      copyFileSync(from, join(staging, binary));
      chmodSync(join(staging, binary), 0o755);
      sums.set(binary, await sha256File(join(staging, binary)));
    }
    writeFileSync(join(staging, INDEX_FILE), formatIndex(sums));
    if (release) writeFileSync(join(staging, RELEASE_INDEX_FILE), formatIndex(release));
    writeFileSync(join(staging, ORIGIN_FILE), `${origin}\n`);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}

/** One of a cached component's indexes (empty when it has none). */
export function readCachedIndex(component: Component, platform: Platform, file: typeof INDEX_FILE | typeof RELEASE_INDEX_FILE): Map<string, string> {
  const path = join(componentDir(component, platform), file);
  return existsSync(path) ? parseIndex(readFileSync(path, 'utf8')) : new Map();
}

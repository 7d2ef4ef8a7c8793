import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { extract, pack } from 'tar-fs';
import { LabError } from '../util/errors.ts';
import { INDEX_FILE, artifactsRoot, componentDir, formatIndex, isCached, parseIndex, sha256File } from './cache.ts';
import { hostPlatform, loadManifest, platformName } from './manifest.ts';

/** Where a bundle keeps snapshots: one folder of plain files per snapshot, as the machine provider writes them. */
export const SNAPSHOTS_FOLDER = 'snapshots';

/** How a bundle carries snapshots without knowing what they are: the provider writes one into a folder, and reads one back. */
export interface SnapshotCarrier {
  ids: string[];
  write(id: string, folder: string): Promise<void>;
}

export type SnapshotReader = (folder: string) => Promise<string>;

/**
 * One tarball for an offline room: every cached component folder of the manifest (and, when given,
 * snapshots, so an instructor prepares them once), plus a top-level SHA256SUMS naming each file,
 * checked again on import.
 */
export async function createBundle(file: string, snapshots?: SnapshotCarrier): Promise<string[]> {
  const platform = hostPlatform();
  const included = loadManifest().filter((component) => isCached(component, platform));
  if (included.length === 0) throw new LabError('the cache holds no artifacts to bundle', 'run: lab artifacts fetch');
  const folders = included.map((component) => basename(componentDir(component, platform)));
  const sums = new Map<string, string>();
  for (const folder of folders) {
    for (const name of readdirSync(join(artifactsRoot(), folder))) sums.set(`${folder}/${name}`, await sha256File(join(artifactsRoot(), folder, name)));
  }
  const staging = mkdtempSync(join(artifactsRoot(), '.bundle-'));
  try {
    for (const id of snapshots?.ids ?? []) {
      const folder = join(staging, SNAPSHOTS_FOLDER, id);
      mkdirSync(folder, { recursive: true });
      await snapshots!.write(id, folder);
      for (const name of readdirSync(folder)) sums.set(`${SNAPSHOTS_FOLDER}/${id}/${name}`, await sha256File(join(folder, name)));
    }
    writeFileSync(join(staging, INDEX_FILE), formatIndex(sums));
    const indexEntry = `${basename(staging)}/${INDEX_FILE}`;
    const snapshotsEntry = `${basename(staging)}/${SNAPSHOTS_FOLDER}`;
    const tar = pack(artifactsRoot(), {
      entries: [indexEntry, ...folders, ...(snapshots?.ids.length ? [snapshotsEntry] : [])],
      map: (header) =>
        header.name === indexEntry ? { ...header, name: INDEX_FILE } : header.name.startsWith(`${snapshotsEntry}`) ? { ...header, name: header.name.slice(basename(staging).length + 1) } : header,
    });
    await pipeline(Readable.from(tar), createGzip({ level: 3 }), createWriteStream(`${file}.partial`));
    renameSync(`${file}.partial`, file);
    return [...folders, ...(snapshots?.ids ?? []).map((id) => `${SNAPSHOTS_FOLDER}/${id}`)];
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Unpacks a bundle, checks every file against its SHA256SUMS, and only then moves the folders into
 * the cache; snapshots in it are handed to `readSnapshot` (without one they are left out).
 */
export async function importBundle(file: string, readSnapshot?: SnapshotReader): Promise<string[]> {
  if (!existsSync(file)) throw new LabError(`no bundle at ${file}`, 'give the path of a file made by lab artifacts bundle');
  mkdirSync(artifactsRoot(), { recursive: true });
  const staging = mkdtempSync(join(artifactsRoot(), '.import-'));
  try {
    await pipeline(createReadStream(file), createGunzip(), extract(staging) as never);
    const indexPath = join(staging, INDEX_FILE);
    if (!existsSync(indexPath)) throw new LabError(`${file} has no ${INDEX_FILE}`, 'it was not made by lab artifacts bundle');
    const sums = parseIndex(readFileSync(indexPath, 'utf8'));
    for (const [name, expected] of sums) {
      const path = join(staging, name);
      if (!existsSync(path) || (await sha256File(path)) !== expected) {
        throw new LabError(`${name} in ${file} is missing or damaged; nothing was imported`, 'copy the bundle again');
      }
    }
    const folders = [...new Set([...sums.keys()].map((name) => name.split('/')[0]!))];
    const suffix = `-${platformName(hostPlatform())}`;
    const imported = folders.filter((folder) => folder !== SNAPSHOTS_FOLDER);
    for (const folder of imported) {
      if (!folder.endsWith(suffix)) continue;
      rmSync(join(artifactsRoot(), folder), { recursive: true, force: true });
      renameSync(join(staging, folder), join(artifactsRoot(), folder));
    }
    const snapshotIds = [...new Set([...sums.keys()].filter((name) => name.startsWith(`${SNAPSHOTS_FOLDER}/`)).map((name) => name.split('/')[1]!))];
    for (const id of readSnapshot ? snapshotIds : []) imported.push(`${SNAPSHOTS_FOLDER}/${await readSnapshot!(join(staging, SNAPSHOTS_FOLDER, id))}`);
    return imported;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

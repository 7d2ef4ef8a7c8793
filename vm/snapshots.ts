import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { runHelperContainer, type HelperScript } from './helper-container.ts';
import { followToEnd } from './image.ts';
import type { SnapshotRecord, SnapshotShape } from './provider.ts';
import { readSnapshotIndex, type SnapshotIndex } from './snapshot-index.ts';

/**
 * Snapshots as the Docker engine keeps them: each machine's filesystem as an image made by
 * `docker commit` (tmpfs /run and /tmp, the engine's /etc/hosts and bind mounts are not in it), and
 * each containerd volume copied into a volume of the snapshot's own.
 */
export const SNAPSHOT_REPO = 'hardway/snapshot';
const SNAPSHOT_LABEL = 'hardway.snapshot';
const META_LABEL = 'hardway.snapshot.meta';
const BASE_LABEL = 'hardway.snapshot.base';
const MACHINE_LABEL = 'hardway.machine';
const EXPORT_INDEX = 'snapshot.json';
const EXPORT_IMAGES = 'images.tar';

export const snapshotImage = (id: string, machine: string): string => `${SNAPSHOT_REPO}:${id}-${machine}`;
export const snapshotVolume = (id: string, machine: string): string => `hardway-snapshot-${id}-${machine}-containerd`;

/** What a machine's container needs to be snapshotted: its container, and where its containerd volume is. */
export interface SnapshotSource {
  machine: string;
  container: string;
  volume: string | null;
}

/** One run of the helper that copies a snapshot volume: from which image, with what mounted, running what. */
export interface VolumeCopy {
  machine: string;
  image: string;
  volume: string;
  mounts: Docker.MountConfig;
  run: HelperScript;
}

/** The helper runs as a machine does, so device nodes and trusted xattrs (containerd's overlay whiteouts) survive. */
const runHelper = (docker: Docker, copy: Pick<VolumeCopy, 'image' | 'mounts' | 'run'>): Promise<void> =>
  runHelperContainer(docker, copy.image, copy.run, 'copying a snapshot volume', { Mounts: copy.mounts });

/** Fills volume `to` (created if missing) with a copy of volume `from`. */
export async function copyVolume(docker: Docker, image: string, from: string, to: string, labels: Record<string, string>): Promise<void> {
  await docker.createVolume({ Name: to, Labels: labels });
  await runHelper(docker, {
    image,
    run: { script: 'cp -a /from/. /to/', args: [] },
    mounts: [
      { Type: 'volume', Source: from, Target: '/from', ReadOnly: true },
      { Type: 'volume', Source: to, Target: '/to' },
    ],
  });
}

/** A volume's tarball in an exported folder is named after its machine, which the scripts get as $1. */
const PACK_VOLUME = `tar --xattrs --xattrs-include='*' --numeric-owner -cf "/out/$1-containerd.tar" -C /from .`;
const UNPACK_VOLUME = `tar --xattrs --xattrs-include='*' --numeric-owner -xpf "/in/$1-containerd.tar" -C /to`;

/** Packs a machine's snapshot volume into `folder`. */
export function volumeExport(id: string, machine: string, folder: string): VolumeCopy {
  const volume = snapshotVolume(id, machine);
  return {
    machine,
    image: snapshotImage(id, machine),
    volume,
    run: { script: PACK_VOLUME, args: [machine] },
    mounts: [
      { Type: 'volume', Source: volume, Target: '/from', ReadOnly: true },
      { Type: 'bind', Source: folder, Target: '/out' },
    ],
  };
}

/** Unpacks each volume an exported folder holds into the snapshot's volume of that machine. */
export function volumeImports(index: SnapshotIndex, folder: string): VolumeCopy[] {
  return index.volumes.map((machine) => {
    const volume = snapshotVolume(index.id, machine);
    return {
      machine,
      image: snapshotImage(index.id, machine),
      volume,
      run: { script: UNPACK_VOLUME, args: [machine] },
      mounts: [
        { Type: 'bind', Source: folder, Target: '/in', ReadOnly: true },
        { Type: 'volume', Source: volume, Target: '/to' },
      ],
    };
  });
}

const encodeMeta = (meta: Record<string, string>): string => Buffer.from(JSON.stringify(meta)).toString('base64url');
const decodeMeta = (text: string | undefined): Record<string, string> => {
  try {
    return JSON.parse(Buffer.from(text ?? '', 'base64url').toString('utf8')) as Record<string, string>;
  } catch {
    return {};
  }
};

/** Commits every (stopped) machine and copies its volume. A half-made snapshot is removed. */
export async function saveSnapshot(docker: Docker, id: string, sources: SnapshotSource[], meta: Record<string, string>): Promise<SnapshotRecord> {
  const save = async (source: SnapshotSource): Promise<void> => {
    const container = docker.getContainer(source.container);
    const info = await container.inspect();
    if (info.State.Running) throw new Error(`${source.machine} is running: a snapshot is taken with the machines stopped`);
    const base = info.Config.Image;
    const [repo, tag] = snapshotImage(id, source.machine).split(':') as [string, string];
    await container.commit({ repo, tag, changes: `LABEL ${SNAPSHOT_LABEL}=${id} ${META_LABEL}=${encodeMeta(meta)} ${BASE_LABEL}=${base}` });
    if (source.volume) await copyVolume(docker, base, source.volume, snapshotVolume(id, source.machine), { [SNAPSHOT_LABEL]: id, [MACHINE_LABEL]: source.machine });
  };
  // Every machine at once; a failure is cleaned up only after the others have finished.
  const failed = (await Promise.allSettled(sources.map(save))).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await removeSnapshot(docker, id);
    throw failed.reason;
  }
  const saved = (await listSnapshots(docker)).find((s) => s.id === id);
  if (!saved) throw new Error(`snapshot ${id} was saved but is not listed`);
  return saved;
}

interface ImageFacts {
  machine: string;
  reference: string;
  size: number;
  base: string;
  created: number;
  meta: Record<string, string>;
}

async function snapshotImages(docker: Docker): Promise<Map<string, ImageFacts[]>> {
  const images = await docker.listImages({ filters: { label: [SNAPSHOT_LABEL] } });
  const byId = new Map<string, ImageFacts[]>();
  for (const image of images) {
    const labels = image.Labels ?? {};
    const id = labels[SNAPSHOT_LABEL]!;
    const reference = (image.RepoTags ?? []).find((t) => t.startsWith(`${SNAPSHOT_REPO}:${id}-`));
    if (!reference) continue;
    const facts = { machine: reference.slice(`${SNAPSHOT_REPO}:${id}-`.length), reference, size: image.Size, base: labels[BASE_LABEL] ?? '', created: image.Created * 1000, meta: decodeMeta(labels[META_LABEL]) };
    byId.set(id, [...(byId.get(id) ?? []), facts]);
  }
  return byId;
}

export async function listSnapshots(docker: Docker): Promise<SnapshotRecord[]> {
  const byId = await snapshotImages(docker);
  if (byId.size === 0) return [];
  const baseSizes = new Map<string, number>();
  const volumeSizes = new Map<string, number>();
  const df = (await docker.df()) as { Volumes?: { Name: string; UsageData?: { Size: number } }[] };
  for (const volume of df.Volumes ?? []) volumeSizes.set(volume.Name, Math.max(0, volume.UsageData?.Size ?? 0));
  const records: SnapshotRecord[] = [];
  for (const [id, images] of byId) {
    let size = 0;
    for (const image of images) {
      if (!baseSizes.has(image.base)) baseSizes.set(image.base, await docker.getImage(image.base).inspect().then((i) => i.Size, () => 0));
      size += image.size - (baseSizes.get(image.base) ?? 0) + (volumeSizes.get(snapshotVolume(id, image.machine)) ?? 0);
    }
    records.push({ id, meta: images[0]!.meta, machines: images.map((i) => i.machine).sort(), sizeBytes: size, createdMs: Math.min(...images.map((i) => i.created)) });
  }
  return records.sort((a, b) => b.createdMs - a.createdMs);
}

export async function removeSnapshot(docker: Docker, id: string): Promise<void> {
  const images = (await snapshotImages(docker)).get(id) ?? [];
  for (const image of images) await ignoreMissing(docker.getImage(image.reference).remove({ force: true }));
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${SNAPSHOT_LABEL}=${id}`] } });
  for (const volume of Volumes ?? []) await ignoreMissing(docker.getVolume(volume.Name).remove());
}

/** The folder holds snapshot.json, images.tar (docker save of its machines) and one tarball per volume. */
export async function exportSnapshot(docker: Docker, id: string, folder: string): Promise<void> {
  const record = (await listSnapshots(docker)).find((s) => s.id === id);
  if (!record) throw new Error(`no snapshot ${id}`);
  const images = ((await snapshotImages(docker)).get(id) ?? []).map((i) => i.reference);
  // One `docker save` of every machine: the layers they share (the machine image) are written once.
  const saved = (await (docker as unknown as { getImages(opts: { names: string[] }): Promise<Readable> }).getImages({ names: images })) as Readable;
  await pipeline(saved, createWriteStream(join(folder, EXPORT_IMAGES)));
  const index: SnapshotIndex = { id, machines: record.machines, volumes: [] };
  for (const machine of record.machines) {
    const copy = volumeExport(id, machine, folder);
    if (!(await docker.getVolume(copy.volume).inspect().then(() => true, () => false))) continue;
    await runHelper(docker, copy);
    index.volumes.push(machine);
  }
  writeFileSync(join(folder, EXPORT_INDEX), JSON.stringify(index, null, 2));
}

/** Loads an exported folder into the engine, replacing a snapshot of the same id; its snapshot.json is checked against `shape` first. */
export async function importSnapshot(docker: Docker, folder: string, shape: SnapshotShape): Promise<SnapshotRecord> {
  const index = readSnapshotIndex(join(folder, EXPORT_INDEX), shape);
  const copies = volumeImports(index, folder);
  await removeSnapshot(docker, index.id);
  await followToEnd(docker, await docker.loadImage(createReadStream(join(folder, EXPORT_IMAGES))));
  for (const copy of copies) {
    await docker.createVolume({ Name: copy.volume, Labels: { [SNAPSHOT_LABEL]: index.id, [MACHINE_LABEL]: copy.machine } });
    await runHelper(docker, copy);
  }
  const record = (await listSnapshots(docker)).find((s) => s.id === index.id);
  if (!record || record.machines.length !== index.machines.length) throw new Error(`importing snapshot ${index.id} from ${folder} left it incomplete`);
  return record;
}

async function ignoreMissing(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}

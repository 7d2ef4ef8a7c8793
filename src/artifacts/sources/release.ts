import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../util/errors.ts';
import { artifactsRoot, sha256File } from '../cache.ts';
import { downloadFile } from '../download.ts';
import { expand, pinOf, platformName, releaseFileName, type Component, type Platform } from '../manifest.ts';

/** One release file a binary comes from, where it is fetched, and the SHA-256 the manifest pins for it. */
export interface ReleaseFile {
  binary: string;
  file: string;
  url: string;
  pin?: string;
}

/** What a release gave: each binary's path, and the SHA-256 of each release file, as checked. */
export interface Released {
  files: Map<string, string>;
  release: Map<string, string>;
}

export function releaseFiles(component: Component, platform: Platform, mirror?: string): ReleaseFile[] {
  return component.binaries.map((binary) => {
    const file = releaseFileName(component, platform, binary);
    const url = relocate(expand(component.official.url, { version: component.version, arch: platform.arch, binary }), mirror);
    return { binary, file, url, pin: pinOf(component, platform, file) };
  });
}

/**
 * The upstream release files, or the same files from a mirror: a mirror serves each official URL's
 * path under its own base (https://dl.k8s.io/release/v1.35.8/… ⇒ <mirror>/release/v1.35.8/…).
 * Every file is checked against the manifest's pin before anything is cached; nothing either
 * server says about its files counts, and a file without a pin is not fetched at all.
 * Everything extracted lands in `scratch`, which the caller removes.
 */
export async function fromRelease(component: Component, platform: Platform, scratch: string, mirror?: string, onBinary?: (binary: string) => void): Promise<Released> {
  const wanted = releaseFiles(component, platform, mirror);
  refuseUnpinned(component, platform, wanted, mirror);
  // Interrupted downloads wait here to be resumed; a finished one moves into scratch.
  const downloads = join(artifactsRoot(), '.downloads');
  mkdirSync(downloads, { recursive: true });
  const files = new Map<string, string>();
  const release = new Map<string, string>();
  for (const { binary, file, url, pin } of wanted) {
    onBinary?.(binary);
    const local = join(scratch, file);
    if (!release.has(file)) {
      const pending = join(downloads, `${component.name}-${component.version}-${platform.arch}-${file}`);
      await downloadFile(url, pending, `${component.name}: ${file}`);
      await requirePin(component, { file, url, pin: pin! }, pending, mirror);
      renameSync(pending, local);
      release.set(file, pin!);
    }
    files.set(binary, component.official.member ? extract(local, expand(component.official.member, { version: component.version, arch: platform.arch, binary }), scratch) : local);
  }
  return { files, release };
}

export function relocate(url: string, mirror?: string): string {
  if (!mirror) return url;
  const { pathname } = new URL(url);
  return mirror.replace(/\/+$/, '') + pathname;
}

function refuseUnpinned(component: Component, platform: Platform, wanted: ReleaseFile[], mirror?: string): void {
  const unpinned = [...new Set(wanted.filter(({ pin }) => !pin).map(({ file }) => file))];
  if (unpinned.length === 0) return;
  const where = mirror ? `from the mirror ${mirror}` : 'from the upstream release';
  throw new LabError(
    `${component.name} ${component.version}: ${unpinned.join(', ')} (${platformName(platform)}) ${unpinned.length === 1 ? 'has' : 'have'} no pinned SHA-256 in the manifest, so ${unpinned.length === 1 ? 'it is' : 'they are'} not fetched ${where}: ` +
      `to pin one, add the SHA-256 upstream publishes for it (from a source other than the server you download from, never one you hashed yourself) under sha256: ${platformName(platform)}: ${unpinned[0]}: in ${component.name} ${component.version}'s entry of src/artifacts/manifest.yaml`,
    'build it from its Go modules instead (--source source), or take it from a folder (--bin-dir DIR) or a bundle (lab artifacts import)',
  );
}

/** A downloaded file that is not the one the manifest pins is deleted, resumable part and all. */
async function requirePin(component: Component, expected: { file: string; url: string; pin: string }, local: string, mirror?: string): Promise<void> {
  const got = await sha256File(local);
  if (got === expected.pin) return;
  rmSync(local, { force: true });
  rmSync(`${local}.partial`, { force: true });
  throw new LabError(
    `${expected.file} from ${expected.url} is not the file ${component.name} ${component.version} published: expected SHA-256 ${expected.pin} (the manifest's pin), got ${got}; it was deleted and nothing was cached`,
    mirror
      ? 'the mirror serves a different file (its own checksum files do not count): copy the upstream release file onto it again, or use another source (--source official, or source to build from the Go modules)'
      : 'try again; if it persists, the download is being altered on the way: build from source instead (--source source)',
  );
}

function extract(archive: string, member: string, into: string): string {
  // Archives made with `tar -C dir .` name their members ./name: take either spelling.
  const spellings = member.startsWith('./') ? [member, member.slice(2)] : [member, `./${member}`];
  const found = spellings.find((name) => spawnSync('tar', ['-xzf', archive, '-C', into, name], { encoding: 'utf8' }).status === 0);
  if (!found) throw new LabError(`${archive.slice(archive.lastIndexOf('/') + 1)} has no ${member}`, "check the manifest's member path for this version");
  return join(into, found);
}

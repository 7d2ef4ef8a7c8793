import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LabError } from '../../util/errors.ts';
import { artifactsRoot, parseIndex, sha256File } from '../cache.ts';
import { downloadFile, fetchText } from '../download.ts';
import { expand, type Component, type Platform } from '../manifest.ts';

/**
 * The upstream release files, or the same files from a mirror: a mirror serves each official URL's
 * path under its own base (https://dl.k8s.io/release/v1.35.8/… ⇒ <mirror>/release/v1.35.8/…).
 * Every file is checked against its published SHA-256 before anything is cached.
 */
export async function fromRelease(component: Component, platform: Platform, mirror?: string, onBinary?: (binary: string) => void): Promise<Map<string, string>> {
  const work = mkdtempSync(join(artifactsRoot(), `.download-${component.name}-`));
  const downloads = join(artifactsRoot(), '.downloads');
  mkdirSync(downloads, { recursive: true });
  const files = new Map<string, string>();
  const fetched = new Map<string, string>();
  for (const binary of component.binaries) {
    onBinary?.(binary);
    const values = { version: component.version, arch: platform.arch, binary };
    const url = relocate(expand(component.official.url, values), mirror);
    let local = fetched.get(url);
    if (!local) {
      local = join(downloads, `${component.name}-${component.version}-${platform.arch}-${basename(new URL(url).pathname)}`);
      await downloadFile(url, local, `${component.name}: ${basename(new URL(url).pathname)}`);
      await checkPublishedSum(component, url, local, values, mirror);
      fetched.set(url, local);
    }
    if (component.official.member) {
      const member = expand(component.official.member, values);
      // Archives made with `tar -C dir .` name their members ./name: take either spelling.
      const spellings = member.startsWith('./') ? [member, member.slice(2)] : [member, `./${member}`];
      const found = spellings.find((name) => spawnSync('tar', ['-xzf', local, '-C', work, name], { encoding: 'utf8' }).status === 0);
      if (!found) throw new LabError(`${basename(local)} has no ${member}`, 'check the manifest\'s member path for this version');
      files.set(binary, join(work, found));
    } else {
      files.set(binary, local);
    }
  }
  return files;
}

export function relocate(url: string, mirror?: string): string {
  if (!mirror) return url;
  const { pathname } = new URL(url);
  return mirror.replace(/\/+$/, '') + pathname;
}

async function checkPublishedSum(
  component: Component,
  url: string,
  local: string,
  values: { version: string; arch: string; binary: string },
  mirror?: string,
): Promise<void> {
  const name = basename(new URL(url).pathname);
  const expected = await publishedSum(component, url, name, values, mirror);
  const actual = await sha256File(local);
  if (actual !== expected) {
    rmSync(local, { force: true });
    throw new LabError(
      `checksum mismatch for ${name} from ${url}: published ${expected}, got ${actual}; the file was deleted and nothing was cached`,
      mirror ? 'the mirror serves a damaged or different file: re-copy it onto the mirror' : 'try again; if it persists, the download is being altered on the way',
    );
  }
}

async function publishedSum(
  component: Component,
  url: string,
  name: string,
  values: { version: string; arch: string; binary: string },
  mirror?: string,
): Promise<string> {
  const { checksum, checksumList } = component.official;
  if (checksum) {
    const text = await fetchText(relocate(expand(checksum, { ...values, url: expand(component.official.url, values) }), mirror));
    const sum = text.trim().split(/\s+/)[0] ?? '';
    if (/^[0-9a-f]{64}$/.test(sum)) return sum;
  } else if (checksumList) {
    const sum = parseIndex(await fetchText(relocate(expand(checksumList, values), mirror))).get(name);
    if (sum) return sum;
  }
  throw new LabError(`no published SHA-256 found for ${name}`, 'the release (or mirror) must carry its checksum files next to the binaries');
}

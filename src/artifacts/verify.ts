import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { INDEX_FILE, RELEASE_INDEX_FILE, binaryPath, cachedOrigin, componentDir, readCachedIndex, sha256File } from './cache.ts';
import { componentLabel, pinOf, releaseFileName, type Component, type Platform } from './manifest.ts';
import { checkVersion } from './obtain.ts';

export type VerifyStatus = 'ok' | 'mismatch' | 'not-pinned' | 'missing';

/** One cached file checked: against what (in words), and the SHA-256 expected and found when they differ. */
export interface FileVerdict {
  component: string;
  binary: string;
  status: VerifyStatus;
  against: string;
  expected?: string;
  got?: string;
}

const STATUS_WORDS: Record<VerifyStatus, string> = { ok: 'ok', mismatch: 'MISMATCH', 'not-pinned': 'not pinned', missing: 'missing' };

/**
 * Checks every cached binary of these components: one from a release (official or a mirror)
 * against the manifest's pin of its release file, one built from source or copied from a folder
 * against the SHA-256 recorded when it landed. A component whose files all pass also has its
 * version asked (on this host's architecture).
 */
export async function verifyArtifacts(components: Component[], platform: Platform): Promise<FileVerdict[]> {
  const verdicts: FileVerdict[] = [];
  for (const component of components) {
    const own = await verifyComponent(component, platform);
    verdicts.push(...own);
    if (own.every(({ status }) => status === 'ok')) verdicts.push(...(await versionVerdict(component, platform)));
  }
  return verdicts;
}

export const hasMismatch = (verdicts: FileVerdict[]): boolean => verdicts.some(({ status }) => status === 'mismatch');

/** "MISMATCH    etcd v3.6.8 etcd: the pinned SHA-256 of …: expected …, got …", the status word through `paint`. */
export function verdictLine(verdict: FileVerdict, paint: (status: VerifyStatus, word: string) => string = (_, word) => word): string {
  const word = STATUS_WORDS[verdict.status];
  const sums = verdict.expected || verdict.got ? `: expected ${verdict.expected ?? 'nothing recorded'}, got ${verdict.got ?? 'no file'}` : '';
  return `${paint(verdict.status, word)}${' '.repeat(Math.max(1, 12 - word.length))}${verdict.component} ${verdict.binary}: ${verdict.against}${sums}`;
}

type Judgement = Omit<FileVerdict, 'component' | 'binary'>;

export async function verifyComponent(component: Component, platform: Platform): Promise<FileVerdict[]> {
  const label = componentLabel(component);
  if (!existsSync(join(componentDir(component, platform), INDEX_FILE))) {
    const against = component.optional ? 'not in the cache (optional)' : 'not in the cache';
    return component.binaries.map((binary) => ({ component: label, binary, status: 'missing', against }));
  }
  const origin = cachedOrigin(component, platform);
  const landed = readCachedIndex(component, platform, INDEX_FILE);
  const released = readCachedIndex(component, platform, RELEASE_INDEX_FILE);
  const verdicts: FileVerdict[] = [];
  for (const binary of component.binaries) {
    const path = binaryPath(component, binary, platform);
    const got = existsSync(path) ? await sha256File(path) : undefined;
    const recorded = landed.get(binary);
    let judgement: Judgement;
    if (got === undefined) judgement = { status: 'mismatch', against: 'the file is gone from the cache', expected: recorded };
    else if (origin === 'official' || origin === 'mirror') judgement = judgeReleased(component, platform, binary, released, recorded, got);
    else judgement = matches(origin === 'source' ? 'its SHA-256 recorded when it was built from source' : 'its SHA-256 recorded when it was copied into the cache (no pin applies to a local folder)', recorded, got);
    verdicts.push({ component: label, binary, ...judgement });
  }
  return verdicts;
}

const matches = (against: string, expected: string | undefined, got: string): Judgement =>
  expected === got ? { status: 'ok', against } : { status: 'mismatch', against, expected, got };

/**
 * A bare release file is hashed against its pin. A binary taken out of a release archive cannot be:
 * it is checked against what it was when extracted, and the archive's SHA-256 as checked then
 * against the pin now.
 */
function judgeReleased(component: Component, platform: Platform, binary: string, released: Map<string, string>, recorded: string | undefined, got: string): Judgement {
  const file = releaseFileName(component, platform, binary);
  const pin = pinOf(component, platform, file);
  if (!pin) return { status: 'not-pinned', against: `downloaded as ${file}, which the manifest has no SHA-256 for` };
  if (!component.official.member) return matches(`the pinned SHA-256 of ${file}`, pin, got);
  const archive = released.get(file);
  if (!archive) return { status: 'not-pinned', against: `taken from ${file} before pins were recorded in the cache (fetch it again with --force to check it)` };
  if (archive !== pin) return { status: 'mismatch', against: `taken from ${file}, whose SHA-256 is not the pinned one`, expected: pin, got: archive };
  return matches(`its SHA-256 when taken from ${file}, which matched its pin`, recorded, got);
}

async function versionVerdict(component: Component, platform: Platform): Promise<FileVerdict[]> {
  try {
    await checkVersion(component, platform);
    return [];
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [{ component: componentLabel(component), binary: component.versionCheck?.binary ?? component.binaries[0]!, status: 'mismatch', against: `its version: ${reason}` }];
  }
}

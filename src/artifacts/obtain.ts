import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LabError } from '../util/errors.ts';
import { say } from '../util/output.ts';
import { artifactsRoot, binaryPath, componentDir, isCached, landComponent } from './cache.ts';
import { ALL_SOURCES, type SourceName } from './sources/names.ts';
import { expand, hostPlatform, loadManifest, type Component, type Platform } from './manifest.ts';
import { fromGoSource } from './sources/gobuild.ts';
import { fromLocalFolder } from './sources/local.ts';
import { fromRelease } from './sources/release.ts';

const run = promisify(execFile);

export { ALL_SOURCES };

export interface ObtainOptions {
  /** Tried in this order; mirror and local only when configured. */
  sources: SourceName[];
  mirror?: string;
  binDir?: string;
  force?: boolean;
  platform?: Platform;
  /** Told before each binary is downloaded, built or copied (a status file counts them). */
  onBinary?: (component: Component, binary: string, source: SourceName) => void;
}

export function parseSources(text: string): SourceName[] {
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !ALL_SOURCES.includes(name as SourceName));
  if (unknown.length > 0 || names.length === 0) {
    throw new LabError(`unknown artifact source "${unknown.join(',') || text}"`, `use a comma-separated list of: ${ALL_SOURCES.join(', ')}`, 2);
  }
  return names as SourceName[];
}

/** Makes every wanted component present in the cache, trying the sources in order. */
export async function obtainAll(components: Component[], options: ObtainOptions): Promise<void> {
  mkdirSync(artifactsRoot(), { recursive: true });
  for (const component of components) await obtain(component, options);
}

export async function obtain(component: Component, options: ObtainOptions): Promise<SourceName | 'cached'> {
  const platform = options.platform ?? hostPlatform();
  if (!options.force && isCached(component, platform)) return 'cached';
  const failures: string[] = [];
  for (const source of usableSources(options)) {
    mkdirSync(artifactsRoot(), { recursive: true });
    const scratch = mkdtempSync(join(artifactsRoot(), `.obtain-${component.name}-`));
    try {
      const { files, release } = await fromSource(source, component, platform, scratch, options);
      await landComponent(component, platform, files, source, release);
      try {
        await checkVersion(component, platform);
      } catch (error) {
        rmSync(componentDir(component, platform), { recursive: true, force: true });
        throw error;
      }
      say(`${component.name} ${component.version}: ready (from ${source})`);
      return source;
    } catch (error) {
      failures.push(`${source}: ${describeFailure(error)}`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const message = `could not obtain ${component.name} ${component.version}: ${failures.join('; ') || 'no source configured'}`;
  if (component.optional) {
    say(`${component.name} ${component.version}: skipped (optional): ${failures.map((f) => f.split(':')[0]).join(', ')} unavailable`);
    return 'cached';
  }
  throw new LabError(message, 'online: check the network; offline: pass --mirror URL, --bin-dir DIR, or install Go to build from source');
}

function usableSources(options: ObtainOptions): SourceName[] {
  return options.sources.filter((source) => (source === 'mirror' ? Boolean(options.mirror) : source === 'local' ? Boolean(options.binDir) : true));
}

/** A source's failure with what it says to try next, since only the last error reaches the learner. */
function describeFailure(error: unknown): string {
  if (error instanceof LabError && error.next) return `${error.message} (${error.next})`;
  return error instanceof Error ? error.message : String(error);
}

/** The binaries a source gave, and for release files the SHA-256 each was checked to have. */
async function fromSource(source: SourceName, component: Component, platform: Platform, scratch: string, options: ObtainOptions): Promise<{ files: Map<string, string>; release?: Map<string, string> }> {
  const onBinary = (binary: string): void => options.onBinary?.(component, binary, source);
  switch (source) {
    case 'official':
      return fromRelease(component, platform, scratch, undefined, onBinary);
    case 'mirror':
      return fromRelease(component, platform, scratch, options.mirror, onBinary);
    case 'local':
      component.binaries.forEach(onBinary);
      return { files: fromLocalFolder(component, options.binDir!) };
    case 'source':
      return { files: await fromGoSource(component, platform, onBinary) };
  }
}

/** Runs the component's version command and insists it reports the pinned version. */
export async function checkVersion(component: Component, platform: Platform): Promise<void> {
  const check = component.versionCheck;
  if (!check || platform.arch !== hostPlatform().arch) return;
  const expected = expand(check.expect, { version: component.version, arch: platform.arch });
  // Some binaries (a CNI plugin called without CNI_COMMAND) print their version and exit non-zero.
  const { stdout, stderr } = await run(binaryPath(component, check.binary, platform), check.args, { timeout: 20_000 }).catch(
    (error: { stdout?: string; stderr?: string; code?: unknown }) => {
      if (typeof error.code === 'number' && (error.stdout || error.stderr)) return { stdout: error.stdout ?? '', stderr: error.stderr ?? '' };
      throw error;
    },
  );
  if (!(stdout + stderr).includes(expected)) {
    throw new LabError(`${check.binary} reports "${(stdout + stderr).trim().split('\n')[0]}", not ${expected}`, `use ${component.name} ${component.version}`);
  }
}

export const manifestComponents = (names: string[] = []): Component[] => {
  const all = loadManifest();
  if (names.length === 0) return all;
  // A name gives every version the manifest pins of it (Kubernetes has two).
  return names.flatMap((name) => {
    const found = all.filter((component) => component.name === name || component.binaries.includes(name));
    if (found.length === 0) throw new LabError(`no artifact called "${name}"`, `pick from: ${[...new Set(all.map((c) => c.name))].join(', ')}`, 2);
    return found;
  });
};

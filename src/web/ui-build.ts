import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../util/errors.ts';
import { Progress, warn } from '../util/output.ts';
import { PACKAGE_ROOT, fromPackage } from '../util/package-root.ts';
import { cacheDir } from '../util/paths.ts';

/** The UI built at install time (`npm run build`, run by `npm install`). */
export const UI_DIR = fromPackage('dist', 'ui');
const COMPONENTS = fromPackage('components');

export interface UiBuildOptions {
  /** A git checkout, where components/ may be edited; an installed package serves its build as it is. */
  developing?: boolean;
  /** The install-time build. */
  built?: string;
  /** The UI's sources (absent from an install that ships only the build). */
  components?: string;
  /** Where a developer's rebuild goes: never the package's own folder. */
  devBuild?: string;
}

type ViteBuild = (config: { configFile: string; logLevel: 'warn'; build: { outDir: string; emptyOutDir: boolean } }) => Promise<unknown>;

/** Vite's build function, or null when Vite (a dev dependency) is not installed. */
async function importVite(): Promise<ViteBuild | null> {
  try {
    return (await import('vite')).build as ViteBuild;
  } catch {
    return null;
  }
}

/**
 * The folder of the built UI. Normally the install-time build in dist/ui, without loading Vite.
 * In a git checkout whose components/ changed after that build, with Vite installed (a developer),
 * it is rebuilt into the cache folder instead, never into the package; without Vite the existing
 * build is served, and with no build at all a LabError says what to run.
 */
export async function ensureUiBuilt(options: UiBuildOptions = {}): Promise<string> {
  const built = options.built ?? UI_DIR;
  const components = options.components ?? COMPONENTS;
  // One per checkout: two clones on one machine must not serve each other's UI.
  const devBuild = options.devBuild ?? join(cacheDir(), 'ui', createHash('sha256').update(PACKAGE_ROOT).digest('hex').slice(0, 12));
  const developing = options.developing ?? existsSync(fromPackage('.git'));
  // Installed, the files' mtimes are those of the tarball's extraction: they say nothing about freshness.
  if (!developing && existsSync(join(built, 'index.html'))) return built;
  const newest = existsSync(components) ? newestMtime(components) : 0;
  if (isFresh(built, newest)) return built;
  if (isFresh(devBuild, newest)) return devBuild;

  const build = developing && existsSync(join(components, 'vite.config.ts')) ? await importVite() : null;
  if (!build) {
    if (existsSync(join(built, 'index.html'))) {
      warn('The browser UI changed after its build and Vite is not installed: serving the last build (npm run build updates it).');
      return built;
    }
    throw new LabError(`the browser UI is not built (no ${join(built, 'index.html')})`, `run: npm run build (in ${fromPackage()}), after npm install`);
  }
  const progress = new Progress('browser UI');
  progress.update('building with Vite');
  const started = new Date();
  const staging = `${devBuild}.${process.pid}`;
  await build({ configFile: join(components, 'vite.config.ts'), logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } });
  // The index's mtime says when the build began, so an edit made during the build counts as newer.
  utimesSync(join(staging, 'index.html'), started, started);
  rmSync(devBuild, { recursive: true, force: true });
  renameSync(staging, devBuild);
  progress.done(`built into ${devBuild}`);
  return devBuild;
}

function isFresh(dir: string, newestSource: number): boolean {
  const index = join(dir, 'index.html');
  return existsSync(index) && newestSource <= statSync(index).mtimeMs;
}

function newestMtime(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, statSync(dir).mtimeMs);
}

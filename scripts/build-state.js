// Whether the build in dist/ is up to date with the sources. Plain JavaScript with no dependencies,
// because bin/lab.js reads it at every call before anything else is loaded: keep it cheap.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The compiled CLI and server (tsc, tsconfig.build.json), same layout as the sources. */
export const JS_DIR = join(ROOT, 'dist', 'js');
export const COMPILED_MAIN = join(JS_DIR, 'src', 'cli', 'main.js');
/** Written by the build; its mtime is when the build started. */
export const JS_STAMP = join(JS_DIR, 'BUILT');
/** The browser UI (Vite); index.html's mtime is when that build started. */
export const UI_INDEX = join(ROOT, 'dist', 'ui', 'index.html');

/**
 * A git checkout, where a developer edits the sources. An installed package (no .git) always runs its
 * build: extracting a tarball gives its files arbitrary mtimes, so they say nothing about freshness.
 */
export const isCheckout = () => existsSync(join(ROOT, '.git'));

/** The newest mtime of any file or folder under these folders (a deleted file changes its folder's). */
export function newestMtime(...dirs) {
  let newest = 0;
  for (const dir of dirs) {
    let entries;
    try {
      newest = Math.max(newest, statSync(dir).mtimeMs);
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
    }
  }
  return newest;
}

const mtimeOf = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

/** The compiled JavaScript exists and no source under src/ or vm/ changed after its build began. */
export function jsIsFresh() {
  const built = mtimeOf(JS_STAMP);
  return built !== undefined && newestMtime(join(ROOT, 'src'), join(ROOT, 'vm')) <= built;
}

/** The built UI exists and no file under components/ changed after its build began. */
export function uiIsFresh() {
  const built = mtimeOf(UI_INDEX);
  return built !== undefined && newestMtime(join(ROOT, 'components')) <= built;
}

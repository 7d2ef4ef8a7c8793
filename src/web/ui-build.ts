import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Progress } from '../util/output.ts';

const COMPONENTS = fileURLToPath(new URL('../../components', import.meta.url));
export const UI_DIR = fileURLToPath(new URL('../../dist/ui', import.meta.url));

/** The built UI, rebuilt with Vite when any component is newer than the last build. */
export async function ensureUiBuilt(): Promise<string> {
  const built = join(UI_DIR, 'index.html');
  if (existsSync(built) && newestSource(COMPONENTS) <= statSync(built).mtimeMs) return UI_DIR;
  const progress = new Progress('browser UI');
  progress.update('building with Vite');
  const { build } = await import('vite');
  await build({ configFile: join(COMPONENTS, 'vite.config.ts'), logLevel: 'warn' });
  progress.done(`built into ${UI_DIR}`);
  return UI_DIR;
}

function newestSource(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }, 0);
}

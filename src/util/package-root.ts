import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of hardway's package.json. Data (labs/, content/, vm/image/) is found from here rather
 * than relative to a module, so the same code works from the TypeScript sources and compiled in dist/.
 */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'hardway') return dir;
    if (dirname(dir) === dir) throw new Error(`hardway's package.json is not above ${start}`);
  }
}

export const fromPackage = (...parts: string[]): string => join(PACKAGE_ROOT, ...parts);

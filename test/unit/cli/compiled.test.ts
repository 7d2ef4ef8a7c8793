import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUiBuilt } from '../../../src/web/ui-build.ts';

// The installed CLI runs compiled JavaScript, and needs none of the dev dependencies at run time.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LAB = join(ROOT, 'bin', 'lab.js');
const WITHOUT_DEV_DEPS = join(ROOT, 'test', 'helpers', 'without-dev-deps.js');
const DIST_UI = join(ROOT, 'dist', 'ui');

let scratch: string;
let log: string;

/** Runs node as an install without dev dependencies would (tsx, vite, typescript unimportable). */
function nodeWithoutDevDeps(args: string[]): { code: number; stdout: string; stderr: string; imports: string[] } {
  writeFileSync(log, '');
  const result = spawnSync(process.execPath, ['--import', pathToFileURL(WITHOUT_DEV_DEPS).href, ...args], {
    encoding: 'utf8',
    cwd: scratch,
    env: { ...process.env, NO_COLOR: '1', HARDWAY_IMPORT_LOG: log, HARDWAY_STATE: join(scratch, 'state'), HARDWAY_CACHE: join(scratch, 'cache') },
    timeout: 60_000,
  });
  const imports = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, imports };
}

beforeAll(() => {
  // What `npm test` and `npm install` do first; a no-op when dist/ is up to date.
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.js'), '--if-stale'], { stdio: 'inherit' });
  expect(build.status).toBe(0);
  scratch = mkdtempSync(join(tmpdir(), 'hardway-compiled-'));
  log = join(scratch, 'imports.log');
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the compiled CLI', () => {
  it('runs from dist without loading tsx or any TypeScript', () => {
    const result = nodeWithoutDevDeps([LAB, '--version']);
    expect(result.stderr).toBe('');
    expect(result.imports).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('finds the course, the faults and the artifact manifest from dist', () => {
    for (const args of [['chapters'], ['faults'], ['artifacts', 'list']]) {
      const result = nodeWithoutDevDeps([LAB, ...args]);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.imports, args.join(' ')).toEqual([]);
      expect(result.code, args.join(' ')).toBe(0);
    }
    expect(nodeWithoutDevDeps([LAB, 'chapters']).stdout).toMatch(/ 1 {2}Prerequisites and machines/);
    expect(nodeWithoutDevDeps([LAB, 'artifacts', 'list']).stdout).toMatch(/^kubernetes +v1\./m);
  });

  it('installed (no .git), runs its build even when the sources look newer', () => {
    // An npm install extracts files in any order, so their mtimes say nothing about freshness.
    const installed = join(scratch, 'installed');
    for (const part of ['package.json', 'bin', 'scripts', 'dist', 'src', 'vm', 'labs', 'content']) cpSync(join(ROOT, part), join(installed, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(installed, 'node_modules'));
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(installed, 'src', 'cli', 'main.ts'), later, later);
    const result = nodeWithoutDevDeps([join(installed, 'bin', 'lab.js'), '--version']);
    expect(result.stderr).toBe('');
    expect(result.imports).toEqual([]);
    expect(result.code).toBe(0);
  });
});

describe('the browser UI', () => {
  const compiledUiBuild = pathToFileURL(join(ROOT, 'dist', 'js', 'src', 'web', 'ui-build.js')).href;
  const callEnsure = (locations: string): string =>
    `const { ensureUiBuilt } = await import(${JSON.stringify(compiledUiBuild)});` +
    `try { console.log(await ensureUiBuilt(${locations})); } catch (error) { console.log(error.name + ': ' + error.message + ' / ' + error.next); }`;

  it('is found in dist/ui after the build, without importing vite', () => {
    const result = nodeWithoutDevDeps(['--input-type=module', '-e', callEnsure('')]);
    expect(result.imports).toEqual([]);
    expect(result.stdout.trim()).toBe(DIST_UI);
    expect(existsSync(join(DIST_UI, 'index.html'))).toBe(true);
  });

  it('installed (no .git), is served as built even when the components look newer, without importing vite', () => {
    const components = join(scratch, 'components');
    mkdirSync(components, { recursive: true });
    writeFileSync(join(components, 'vite.config.ts'), '');
    const locations = JSON.stringify({ developing: false, components, devBuild: join(scratch, 'no-dev-ui') });
    const result = nodeWithoutDevDeps(['--input-type=module', '-e', callEnsure(locations)]);
    expect(result.imports).toEqual([]);
    expect(result.stdout.trim()).toBe(DIST_UI);
  });

  it('with no build and no vite, says what to run', () => {
    const locations = JSON.stringify({ developing: true, built: join(scratch, 'no-ui'), devBuild: join(scratch, 'no-dev-ui') });
    const result = nodeWithoutDevDeps(['--input-type=module', '-e', callEnsure(locations)]);
    expect(result.stdout).toMatch(/^LabError: the browser UI is not built .* \/ run: npm run build/);
    expect(result.imports).toEqual(['refused vite']);
  });

  it('when the components are newer than the build, rebuilds into the cache, not the package', async () => {
    const before = statSync(join(DIST_UI, 'index.html')).mtimeMs;
    const devBuild = join(scratch, 'cache', 'ui');
    const dir = await ensureUiBuilt({ developing: true, built: join(scratch, 'stale-ui'), devBuild });
    expect(dir).toBe(devBuild);
    expect(readFileSync(join(devBuild, 'index.html'), 'utf8')).toMatch(/<script type="module"/);
    expect(statSync(join(DIST_UI, 'index.html')).mtimeMs).toBe(before);
    // Now up to date: served as it is, with no second build.
    const mtime = statSync(join(devBuild, 'index.html')).mtimeMs;
    expect(await ensureUiBuilt({ developing: true, built: join(scratch, 'stale-ui'), devBuild })).toBe(devBuild);
    expect(statSync(join(devBuild, 'index.html')).mtimeMs).toBe(mtime);
  });
});

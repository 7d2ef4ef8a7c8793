#!/usr/bin/env node
// `npm run build`: compiles the CLI and server to dist/js (tsc) and bundles the browser UI into
// dist/ui (Vite). `npm install`/`npm ci` run it (the `prepare` script) and so does `npm test`.
//   node scripts/build.js [js] [ui] [--if-stale]   (default: both; --if-stale skips parts up to date)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { JS_DIR, JS_STAMP, ROOT, UI_INDEX, jsIsFresh, uiIsFresh } from './build-state.js';

const args = process.argv.slice(2);
const ifStale = args.includes('--if-stale');
const named = args.filter((arg) => !arg.startsWith('--'));
const parts = named.length > 0 ? named : ['js', 'ui'];
const require = createRequire(import.meta.url);

/** A dev dependency's entry point, or null in an install without dev dependencies. */
function resolveDev(name) {
  try {
    return require.resolve(name);
  } catch {
    return null;
  }
}

/** Without the tools, keep a build that exists (say so); fail when there is none. */
function missingTool(tool, built) {
  if (built) {
    console.warn(`build: ${tool} is not installed (a dev dependency); keeping the existing build`);
    return;
  }
  console.error(`build: ${tool} is not installed; install the dev dependencies (npm install) and run npm run build`);
  process.exit(1);
}

async function buildJs() {
  if (ifStale && jsIsFresh()) return;
  const started = new Date();
  if (!resolveDev('typescript')) return missingTool('typescript', existsSync(JS_STAMP));
  rmSync(JS_DIR, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit', cwd: ROOT });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  mkdirSync(JS_DIR, { recursive: true });
  writeFileSync(JS_STAMP, `built ${started.toISOString()}\n`);
  utimesSync(JS_STAMP, started, started);
}

async function buildUi() {
  if (ifStale && uiIsFresh()) return;
  const started = new Date();
  if (!resolveDev('vite')) return missingTool('vite', existsSync(UI_INDEX));
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'components', 'vite.config.ts'), logLevel: 'warn' });
  utimesSync(UI_INDEX, started, started);
}

for (const part of parts) {
  if (part === 'js') await buildJs();
  else if (part === 'ui') await buildUi();
  else {
    console.error(`build: unknown part "${part}" (use js, ui or nothing for both)`);
    process.exit(2);
  }
}

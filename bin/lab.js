#!/usr/bin/env node
// The `lab` executable. Runs the compiled JavaScript in dist/js (`npm run build`, which `npm install`
// runs), so a call compiles nothing. In a git checkout whose src/ or vm/ changed after that build (a
// developer editing), it runs the TypeScript sources through tsx instead, so edits apply at once.
// HARDWAY_FROM_SOURCE=1 forces the sources.
import { existsSync } from 'node:fs';
import { COMPILED_MAIN, ROOT, isCheckout, jsIsFresh } from '../scripts/build-state.js';

const forced = process.env.HARDWAY_FROM_SOURCE === '1';
const fromSource = forced || (isCheckout() && !jsIsFresh());

async function registerTsx() {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return true;
  } catch {
    return false;
  }
}

if (fromSource && (await registerTsx())) {
  await import('../src/cli/main.ts');
} else if (!forced && existsSync(COMPILED_MAIN)) {
  if (fromSource) process.stderr.write('lab: the sources changed after the last build and tsx is not installed: running the old build (npm run build updates it)\n');
  await import('../dist/js/src/cli/main.js');
} else {
  process.stderr.write(
    forced ? 'lab: HARDWAY_FROM_SOURCE=1 needs tsx, a dev dependency: run npm install\n' : `lab: hardway is not built: run npm run build in ${ROOT} (npm install does it too)\n`,
  );
  process.exitCode = 1;
}

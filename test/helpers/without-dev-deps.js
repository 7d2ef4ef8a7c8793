// Preload (`node --import`) that makes a process behave as an install without dev dependencies:
// importing tsx, vite, typescript, vitest or esbuild fails as if they were absent. Every such attempt,
// and every TypeScript file loaded, is appended to the file named by $HARDWAY_IMPORT_LOG.
import { register } from 'node:module';

register('./without-dev-deps-hooks.js', import.meta.url, { data: { log: process.env.HARDWAY_IMPORT_LOG } });

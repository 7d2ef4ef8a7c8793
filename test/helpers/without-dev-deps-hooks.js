// Module hooks of without-dev-deps.js (they run on Node's loader thread).
import { appendFileSync } from 'node:fs';

const DEV_DEPENDENCIES = new Set(['tsx', 'vite', 'typescript', 'vitest', 'esbuild']);
let log = '';

export function initialize(data) {
  log = data.log;
}

const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

export async function resolve(specifier, context, next) {
  if (DEV_DEPENDENCIES.has(packageOf(specifier))) {
    if (log) appendFileSync(log, `refused ${specifier}\n`);
    throw Object.assign(new Error(`Cannot find package '${specifier}' (a dev dependency, hidden by the test)`), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  const resolved = await next(specifier, context);
  if (log && /\.[cm]?tsx?$/.test(new URL(resolved.url).pathname)) appendFileSync(log, `loaded ${resolved.url}\n`);
  return resolved;
}

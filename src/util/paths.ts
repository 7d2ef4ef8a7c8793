import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where downloaded and built artifacts live: $HARDWAY_CACHE, else the user's cache dir. */
export function cacheDir(): string {
  if (process.env.HARDWAY_CACHE) return process.env.HARDWAY_CACHE;
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hardway');
}

/** Where per-lab state (progress, tokens) lives: $HARDWAY_STATE, else the user's state dir. */
export function stateDir(): string {
  if (process.env.HARDWAY_STATE) return process.env.HARDWAY_STATE;
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'hardway');
}

import { existsSync } from 'node:fs';
import { setupHost } from '../../src/host/setup.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Makes sure Debian's chromium is installed, the way `lab setup --dev` installs it. Never skips. */
export async function ensureChromium(): Promise<string> {
  if (!existsSync(CHROMIUM)) await setupHost({ dev: true });
  return CHROMIUM;
}

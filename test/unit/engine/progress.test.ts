import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { markPassed, readProgress, updateProgress } from '../../../src/engine/progress.ts';

const PROGRESS = fileURLToPath(new URL('../../../src/engine/progress.ts', import.meta.url));

/** Another process (as the CLI is, beside a server) marking steps passed, one update at a time. */
function writer(state: string, name: string, count: number): Promise<number> {
  const script = `const { markPassed, updateProgress } = await import(${JSON.stringify(PROGRESS)});
    for (let i = 0; i < ${count}; i++) await updateProgress('shared', (p) => markPassed(p, '${name}/' + i));`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, HARDWAY_STATE: state }, stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? -1));
  });
}

describe('progress', () => {
  it('updates from several processes at once lose nothing', async () => {
    const state = mkdtempSync(join(tmpdir(), 'hardway-progress-'));
    process.env.HARDWAY_STATE = state;
    const local = (async () => {
      for (let i = 0; i < 20; i++) await updateProgress('shared', (p) => markPassed(p, `here/${i}`));
    })();
    const codes = await Promise.all([writer(state, 'cli', 20), writer(state, 'server', 20), local]);
    expect(codes.slice(0, 2)).toEqual([0, 0]);
    const passed = readProgress('shared').passed;
    expect(passed).toHaveLength(60);
    expect(new Set(passed).size).toBe(60);
  }, 60_000);
});

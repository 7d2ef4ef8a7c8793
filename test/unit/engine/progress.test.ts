import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { markPassed, passedAt, readProgress, updateProgress, type Progress } from '../../../src/engine/progress.ts';
import { LabError } from '../../../src/util/errors.ts';

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

describe('progress: when each step passed', () => {
  const fresh = (): Progress => ({ chapter: 1, passed: [], hintsShown: {} });
  /** A lab's progress file as an older hardway wrote it, or any content. */
  function written(content: object | string): void {
    process.env.HARDWAY_STATE = mkdtempSync(join(tmpdir(), 'hardway-progress-'));
    const dir = join(process.env.HARDWAY_STATE, 'labs', 'old');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'progress.json'), typeof content === 'string' ? content : JSON.stringify(content));
  }

  it('a pass is recorded with its time; passing again keeps the first', () => {
    const first = markPassed(fresh(), '1/a1', new Date('2026-03-02T09:15:00.000Z'));
    expect(passedAt(first, '1/a1')).toBe('2026-03-02T09:15:00.000Z');
    const again = markPassed(first, '1/a1', new Date('2026-03-02T10:00:00.000Z'));
    expect(passedAt(again, '1/a1')).toBe('2026-03-02T09:15:00.000Z');
    expect(passedAt(again, '1/a2')).toBeNull();
  });

  it('a file from before times were kept loads: its passes have no time, the next pass gets one, and it is written back readable', async () => {
    written({ chapter: 2, passed: ['1/a1', '1/a2'], hintsShown: { '1/a1': 2 } });
    const old = readProgress('old');
    expect(old).toEqual({ chapter: 2, passed: ['1/a1', '1/a2'], hintsShown: { '1/a1': 2 } });
    expect(passedAt(old, '1/a1')).toBeNull();
    const before = Date.now();
    await updateProgress('old', (p) => markPassed(p, '2/b1'));
    const now = readProgress('old');
    expect(now.passed).toEqual(['1/a1', '1/a2', '2/b1']);
    expect(passedAt(now, '1/a1')).toBeNull();
    expect(Date.parse(passedAt(now, '2/b1')!)).toBeGreaterThanOrEqual(before - 1);
    expect(Object.keys(JSON.parse(readFileSync(join(process.env.HARDWAY_STATE!, 'labs', 'old', 'progress.json'), 'utf8')).passedAt)).toEqual(['2/b1']);
  });

  it('a file missing hints (older still) loads; one whose fields are of the wrong kind is a clear error naming the file and the field', () => {
    written({ chapter: 1, passed: [] });
    expect(readProgress('old')).toEqual({ chapter: 1, passed: [], hintsShown: {} });
    for (const [content, field] of [
      [{ chapter: 1, passed: ['1/a1'], passedAt: { '1/a1': 'yesterday' } }, /passedAt\/1~1a1 must match pattern/],
      [{ chapter: '2', passed: [] }, /\/chapter must be integer/],
      [{ chapter: 1, passed: 'all' }, /\/passed must be array/],
      [{ chapter: 1, passed: [], fault: { id: 'x' } }, /\/fault must have required property 'hidden'/],
    ] as const) {
      written(content);
      expect(() => readProgress('old')).toThrow(LabError);
      expect(() => readProgress('old')).toThrow(field);
      expect(() => readProgress('old')).toThrow(/the progress file .*progress\.json is damaged/);
    }
  });
});

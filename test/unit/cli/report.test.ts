import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAsJson } from '../../../src/cli/commands/chapters.ts';
import { loadCourseData } from '../../../src/engine/session.ts';
import { LabError } from '../../../src/util/errors.ts';
import { reportingTo, type OutputSink } from '../../../src/util/output.ts';
import { lab } from '../../helpers/cli.ts';
import { fakeLab } from '../../helpers/fake-course.ts';

/** What a command printed with say(), and how it ended. */
async function printed(work: () => Promise<void>): Promise<{ out: string; error: unknown }> {
  let out = '';
  const sink: OutputSink = { say: (line) => void (out += `${line}\n`), warn: () => {}, update: () => {}, done: () => {} };
  const error = await reportingTo(sink, work).then(() => null, (e: unknown) => e);
  return { out, error };
}

describe('lab check --json', () => {
  it('prints one JSON document; a failing step ends as the human form does (not yet, exit 1), a passing one exits 0', async () => {
    const { engine, provider } = fakeLab();
    await engine.up();
    const failing = await printed(() => checkAsJson('unit', '1/a1', async () => engine));
    expect(JSON.parse(failing.out)).toMatchObject({ lab: 'unit', kind: 'step', step: '1/a1', passed: false, failures: [{ message: 'a1 is not done', output: 'no a1' }] });
    expect(failing.error).toBeInstanceOf(LabError);
    expect(failing.error).toMatchObject({ message: 'not yet', exitCode: 1 });
    provider.factsOf('unit').add('a1');
    const passing = await printed(() => checkAsJson('unit', '1/a1', async () => engine));
    expect(JSON.parse(passing.out)).toMatchObject({ passed: true, failures: [], next: '1/a2' });
    expect(passing.error).toBeNull();
  });

  it('an error before any grade is a JSON document too, and keeps its exit code', async () => {
    const { engine } = fakeLab();
    const unknown = await printed(() => checkAsJson('unit', '7/zz', async () => engine));
    expect(JSON.parse(unknown.out)).toEqual({ lab: 'unit', error: 'there is no chapter 7', next: expect.stringMatching(/pick one of: 1, 2, 3/) });
    expect(unknown.error).toMatchObject({ exitCode: 2 });
  });

  it('from the command line: a bad lab name is one JSON document on stdout, the sentence on stderr, exit 1', () => {
    const result = lab(['check', '--json', '--lab', 'Not_A_Lab'], { HARDWAY_STATE: mkdtempSync(join(tmpdir(), 'hardway-cli-')) });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ lab: 'Not_A_Lab', error: '"Not_A_Lab" is not a valid lab name', next: expect.any(String) });
    expect(result.stderr).toMatch(/^error: "Not_A_Lab" is not a valid lab name/);
  });
});

describe('lab report', () => {
  const course = loadCourseData();
  const [first, second] = course.chapters;
  const keys = [`1/${first!.steps[0]!.id}`, `2/${second!.steps[0]!.id}`, `2/${second!.steps[1]!.id}`];
  /** A state folder with a lab at chapter 2: chapter 1 passed before times were kept, two steps of 2 passed since. */
  function state(): string {
    const dir = mkdtempSync(join(tmpdir(), 'hardway-report-'));
    mkdirSync(join(dir, 'labs', 'day-1'), { recursive: true });
    const progress = { chapter: 2, passed: keys, passedAt: { [keys[1]!]: '2026-03-02T09:15:00.000Z', [keys[2]!]: '2026-03-02T09:40:12.000Z' }, hintsShown: {} };
    writeFileSync(join(dir, 'labs', 'day-1', 'progress.json'), JSON.stringify(progress));
    return dir;
  }

  it('prints every chapter and step, passed or not and when, and marks the current chapter', () => {
    const result = lab(['report', '--lab', 'day-1'], { HARDWAY_STATE: state(), TZ: 'UTC' });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    const total = course.chapters.reduce((sum, c) => sum + c.steps.length, 0);
    expect(lines[0]).toBe(`Lab day-1: 3 of ${total} steps passed; on chapter 2`);
    expect(lines.filter((l) => /^. +\d+ {2}/.test(l))).toHaveLength(course.chapters.length);
    expect(lines.find((l) => l.includes(first!.title))).toMatch(/^✓ +1 {2}/);
    expect(lines.find((l) => l.includes(second!.title))).toMatch(/^› +2 {2}.*\(current\)$/);
    expect(lines.find((l) => l.includes(` ${first!.steps[0]!.id} `))).toMatch(/✓ .*passed, time not kept$/);
    expect(lines.find((l) => l.includes(` ${second!.steps[1]!.id} `))).toMatch(/✓ .*2026-03-02 09:40:12$/);
    expect(lines.find((l) => l.includes(` ${second!.steps[2]!.id} `))).toMatch(/^ +· /);
  });

  it('--json prints the same as one document', () => {
    const result = lab(['report', '--json', '--lab', 'day-1'], { HARDWAY_STATE: state() });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { lab: string; currentChapter: number; passed: number; chapters: { number: number; current: boolean; steps: { key: string; passed: boolean; passedAt: string | null }[] }[] };
    expect(report).toMatchObject({ lab: 'day-1', currentChapter: 2, passed: 3, fault: null });
    expect(report.chapters).toHaveLength(course.chapters.length);
    expect(report.chapters[1]!.current).toBe(true);
    expect(report.chapters[1]!.steps.slice(0, 3).map((s) => [s.key, s.passed, s.passedAt])).toEqual([
      [keys[1], true, '2026-03-02T09:15:00.000Z'],
      [keys[2], true, '2026-03-02T09:40:12.000Z'],
      [`2/${second!.steps[2]!.id}`, false, null],
    ]);
  });
});

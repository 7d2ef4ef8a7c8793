import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCourse } from '../../../src/engine/course.ts';
import { LabFilesError } from '../../../src/engine/lab-files.ts';
import { needsUpTo, setsToPrepare } from '../../../src/engine/needs.ts';
import { chapter, step } from '../../helpers/fake-course.ts';

describe('what a chapter needs from the host', () => {
  const course = loadCourse();
  const numbers = course.map((c) => c.number);

  it('chapter 1 needs nothing; every later chapter the course\'s binaries; only the upgrade chapter and after also the upgrade\'s', () => {
    expect(needsUpTo(course, 1)).toEqual({ sets: [], registry: false });
    for (const n of numbers.filter((n) => n >= 2 && n < 20)) expect(needsUpTo(course, n).sets, `chapter ${n}`).toEqual(['course']);
    for (const n of numbers.filter((n) => n >= 20)) expect(needsUpTo(course, n).sets, `chapter ${n}`).toEqual(['course', 'upgrade']);
  });

  it('the registry from the chapter whose pods first pull images (CoreDNS, chapter 12) on', () => {
    expect(numbers.filter((n) => needsUpTo(course, n).registry)).toEqual(numbers.filter((n) => n >= 12));
  });

  it('a first lab up builds the course\'s binaries in the background; the upgrade\'s only for a lab at the upgrade chapter or later', () => {
    for (const n of numbers) expect(setsToPrepare(course, n), `lab up ${n}`).toEqual(n >= 20 ? ['course', 'upgrade'] : ['course']);
  });

  it('a chapter needs what any chapter before it declared, whether or not it declares anything', () => {
    const chapters = [chapter(1, [step('a')]), { ...chapter(2, [step('b')]), needs: ['registry' as const] }, chapter(3, [step('c')])];
    expect(needsUpTo(chapters, 3)).toEqual({ sets: ['course'], registry: true });
    expect(needsUpTo(chapters, 1)).toEqual({ sets: [], registry: false });
  });

  it('a chapter.yaml names only needs the engine knows, each once, with file:line', () => {
    const root = mkdtempSync(join(tmpdir(), 'hardway-needs-'));
    mkdirSync(join(root, 'labs', '01-x'), { recursive: true });
    mkdirSync(join(root, 'content'));
    const stepYaml = '  - id: one\n    title: One\n    machine: jumpbox\n    checks:\n      - run: "true"\n        fail: never\n    solve: "true"\n    hints: [a, b]\n';
    writeFileSync(join(root, 'labs', '01-x', 'chapter.yaml'), `title: X\nneeds: [binaries, wings]\nprose: x.md\nsteps:\n${stepYaml}`);
    writeFileSync(join(root, 'content', 'x.md'), '<!-- step: one -->\n');
    const error = (() => { try { loadCourse(join(root, 'labs'), join(root, 'content')); } catch (e) { return e as LabFilesError; } })();
    expect(error).toBeInstanceOf(LabFilesError);
    expect(error!.errors.map((e) => `${e.line}: ${e.message}`)).toEqual(['2: needs.1 must be one of: binaries, upgrade-binaries, registry']);
  });
});

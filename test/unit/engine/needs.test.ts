import { describe, expect, it } from 'vitest';
import { loadCourse } from '../../../src/engine/course.ts';
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
});

import { LabError } from '../util/errors.ts';
import { loadCourse, type Chapter, type Step } from './course.ts';
import { loadFaults, loadHealth } from './faults.ts';
import type { Course } from './lab.ts';
import { LabFilesError, formatLabError } from './lab-files.ts';
import { readProgress, stepKey, type Progress } from './progress.ts';

/** The chapters, or one clear error listing every problem in the lab files with file:line. */
export function course(): Chapter[] {
  return explainingLabFileErrors(() => loadCourse());
}

/** Chapters, faults and health checks, validated; every problem of a kind of file is reported at once. */
export function loadCourseData(): Course {
  // Faults and health checks are read on first use: most commands grade steps and never need them.
  let faults: Course['faults'] | undefined;
  let health: Course['health'] | undefined;
  return {
    chapters: course(),
    get faults() {
      return (faults ??= explainingLabFileErrors(() => loadFaults()));
    },
    get health() {
      return (health ??= explainingLabFileErrors(() => loadHealth()));
    },
  };
}

export function explainingLabFileErrors<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof LabFilesError) {
      throw new LabError(`the lab files have ${error.errors.length} problem(s):\n${error.errors.map(formatLabError).join('\n')}`, 'fix them and run the command again');
    }
    throw error;
  }
}

export function chapterByNumber(chapters: Chapter[], number: number): Chapter {
  const chapter = chapters.find((c) => c.number === number);
  if (!chapter) throw new LabError(`there is no chapter ${number}`, `pick one of: ${chapters.map((c) => c.number).join(', ')} (see lab chapters)`, 2);
  return chapter;
}

export interface Position {
  chapter: Chapter;
  step: Step | null;
  progress: Progress;
}

/** The learner's chapter and the first step of it not yet passed (null when the chapter is done). */
export function currentPosition(lab: string, chapters: Chapter[]): Position {
  const progress = readProgress(lab);
  const chapter = chapterByNumber(chapters, progress.chapter);
  const step = chapter.steps.find((s) => !progress.passed.includes(stepKey(chapter.number, s.id))) ?? null;
  return { chapter, step, progress };
}

/** A step named on the command line (in the current chapter, or as N/step-id), else the current one. */
export function resolveStep(lab: string, chapters: Chapter[], name?: string): { chapter: Chapter; step: Step } {
  const position = currentPosition(lab, chapters);
  if (!name) {
    if (!position.step) throw new LabError(`chapter ${position.chapter.number} is complete`, `go on with: lab up ${position.chapter.number + 1}`);
    return { chapter: position.chapter, step: position.step };
  }
  const [chapterPart, stepPart] = name.includes('/') ? name.split('/', 2) : [String(position.chapter.number), name];
  const chapter = chapterByNumber(chapters, Number(chapterPart));
  const step = chapter.steps.find((s) => s.id === stepPart);
  if (!step) throw new LabError(`chapter ${chapter.number} has no step "${stepPart}"`, `its steps are: ${chapter.steps.map((s) => s.id).join(', ')}`, 2);
  return { chapter, step };
}

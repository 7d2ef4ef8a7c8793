import type { CheckResult, Course } from './lab.ts';
import { passedAt, stepKey, type Progress } from './progress.ts';
import { failureMessage } from './runner.ts';

/** What graders read: a check's result and a whole lab's progress, as data (`lab check --json`, `lab report --json`). */

export interface FailureReport {
  /** The check's own words for what is still wrong (or that it ran out of time). */
  message: string;
  /** What the check printed. */
  output: string;
  timedOut: boolean;
}

export interface CheckReport {
  lab: string;
  kind: 'step' | 'fault';
  /** The step graded, as chapter/step; null for a fault's fix. */
  step: string | null;
  title: string | null;
  /** The fault whose fix was graded; null for a step, and for a surprise not fixed yet (it stays unnamed). */
  fault: { id: string; title: string } | null;
  passed: boolean;
  failures: FailureReport[];
  /** After a step, the next one not passed yet (chapter/step), if any. */
  next: string | null;
}

export function checkReport(lab: string, result: CheckResult): CheckReport {
  const failures = result.outcome.failures.map((f) => ({ message: failureMessage(f), output: f.output, timedOut: f.timedOut === true }));
  const { passed } = result.outcome;
  if (result.kind === 'fault') {
    const named = passed || !result.active.hidden;
    return { lab, kind: 'fault', step: null, title: named ? result.fault.title : null, fault: named ? { id: result.fault.id, title: result.fault.title } : null, passed, failures, next: null };
  }
  const { chapter, step, next } = result;
  return { lab, kind: 'step', step: stepKey(chapter.number, step.id), title: step.title, fault: null, passed, failures, next: next.step ? stepKey(next.chapter.number, next.step.id) : null };
}

export interface StepReport {
  /** chapter/step */
  key: string;
  id: string;
  title: string;
  passed: boolean;
  /** When it first passed (ISO 8601, UTC); null if not passed, or passed before times were kept. */
  passedAt: string | null;
}

export interface ChapterReport {
  number: number;
  title: string;
  /** The chapter the learner is working on. */
  current: boolean;
  passed: number;
  steps: StepReport[];
}

export interface LabReport {
  lab: string;
  currentChapter: number;
  passed: number;
  total: number;
  /** A fault to fix, if any: named only when the learner chose it. */
  fault: { hidden: boolean; id?: string } | null;
  chapters: ChapterReport[];
}

/** Every step of every chapter, passed or not, and when. */
export function labReport(lab: string, course: Course, progress: Progress): LabReport {
  const chapters = course.chapters.map((chapter) => {
    const steps = chapter.steps.map((step) => {
      const key = stepKey(chapter.number, step.id);
      return { key, id: step.id, title: step.title, passed: progress.passed.includes(key), passedAt: passedAt(progress, key) };
    });
    return { number: chapter.number, title: chapter.title, current: chapter.number === progress.chapter, passed: steps.filter((s) => s.passed).length, steps };
  });
  const { fault } = progress;
  return {
    lab,
    currentChapter: progress.chapter,
    passed: chapters.reduce((sum, c) => sum + c.passed, 0),
    total: chapters.reduce((sum, c) => sum + c.steps.length, 0),
    fault: fault ? { hidden: fault.hidden, ...(fault.hidden ? {} : { id: fault.id }) } : null,
    chapters,
  };
}

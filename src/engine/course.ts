import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LabFilesError, loadYaml, type LabFileError } from './lab-files.ts';
import { unknownFenceWords } from './prose.ts';
import { chapterSchema } from './schema.ts';
import type { Need } from './needs.ts';
import type { MachineName } from '../lab/topology.ts';
import { fromPackage } from '../util/package-root.ts';

export type { MachineName };

export interface Check {
  run: string;
  fail: string;
  machine?: MachineName;
}

export interface Step {
  id: string;
  title: string;
  machine: MachineName;
  checks: Check[];
  solve: string;
  /**
   * Its result names the machines' addresses or does not survive a stop (machines.txt, hosts files,
   * pod routes): a lab made from a snapshot, or restarted, solves it again first when it fails.
   */
  addresses?: boolean;
  /** The prose leaves part of this step to the learner, and says so: its blocks alone do not pass, its solution does. */
  exercise?: boolean;
  hints: string[];
  /** This step's part of the chapter's document. */
  prose: string;
}

export interface Chapter {
  number: number;
  slug: string;
  title: string;
  summary?: string;
  /** `cluster-built`: the cluster is built and proven at the end of this chapter. */
  milestone?: 'cluster-built';
  /** What it needs from the host beyond what the chapters before it needed (see needs.ts). */
  needs?: Need[];
  /** The chapter's whole document (content/<prose>). */
  document: string;
  steps: Step[];
}

export const DEFAULT_LABS_DIR = fromPackage('labs', 'chapters');
export const DEFAULT_CONTENT_DIR = fromPackage('content');

/** A step's prose begins at a marker line `<!-- step: id -->` in the chapter's document. */
const STEP_MARKER = /^<!--\s*step:\s*([a-z0-9-]+)\s*-->\s*$/gm;

/** Loads every chapter, reporting all problems of all files at once. */
export function loadCourse(labsDir = DEFAULT_LABS_DIR, contentDir = DEFAULT_CONTENT_DIR): Chapter[] {
  const errors: LabFileError[] = [];
  const chapters: Chapter[] = [];
  const folders = readdirSync(labsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const folder of folders) {
    const match = folder.match(/^(\d+)-([a-z0-9-]+)$/);
    const file = join(labsDir, folder, 'chapter.yaml');
    const shown = relative(process.cwd(), file) || file;
    if (!match) {
      errors.push({ file: shown, line: 1, column: 1, message: `chapter folder "${folder}" must be named NN-name` });
      continue;
    }
    if (!existsSync(file)) {
      errors.push({ file: shown, line: 1, column: 1, message: 'missing chapter.yaml' });
      continue;
    }
    const chapter = loadChapter(file, shown, Number(match[1]), match[2]!, contentDir, errors);
    if (chapter) chapters.push(chapter);
  }
  const numbers = chapters.map((c) => c.number);
  chapters.forEach((chapter, index) => {
    if (numbers.indexOf(chapter.number) !== index) errors.push({ file: relative(process.cwd(), labsDir), line: 1, column: 1, message: `two chapters are numbered ${chapter.number}` });
  });
  if (errors.length > 0) throw new LabFilesError(errors);
  return chapters;
}

function loadChapter(file: string, shown: string, number: number, slug: string, contentDir: string, errors: LabFileError[]): Chapter | null {
  type RawChapter = Omit<Chapter, 'number' | 'slug' | 'document' | 'steps'> & { prose: string; steps: Omit<Step, 'prose'>[] };
  const loaded = loadYaml<RawChapter>(file, shown, chapterSchema, errors);
  if (!loaded) return null;
  const { data: raw, at } = loaded;
  const seen = new Set<string>();
  raw.steps.forEach((step, index) => {
    if (seen.has(step.id)) errors.push(at(['steps', index, 'id'], `step id "${step.id}" is used twice`));
    seen.add(step.id);
  });
  const proseFile = join(contentDir, raw.prose);
  if (!existsSync(proseFile)) {
    errors.push(at(['prose'], `prose file ${raw.prose} does not exist in ${relative(process.cwd(), contentDir) || contentDir}`));
    return null;
  }
  const document = readFileSync(proseFile, 'utf8');
  const sections = splitSections(document);
  for (const { line, words } of unknownFenceWords(document)) {
    errors.push({ file: relative(process.cwd(), proseFile) || proseFile, line, column: 1, message: `a code block says "${words.join(' ')}": after bash, only a machine (jumpbox, server, node-0, node-1: typed into its terminal), "second-shell" (a second terminal) or "host" (the learner's own computer, with no machine) is known` });
  }
  raw.steps.forEach((step, index) => {
    if (!sections.has(step.id)) errors.push(at(['steps', index, 'id'], `${raw.prose} has no "<!-- step: ${step.id} -->" section for this step`));
  });
  return {
    number,
    slug,
    title: raw.title,
    summary: raw.summary,
    milestone: raw.milestone,
    ...(raw.needs ? { needs: raw.needs } : {}),
    document,
    steps: raw.steps.map((step) => ({ ...step, prose: sections.get(step.id) ?? '' })),
  };
}

/** The prose of each step: from its marker to the next marker (or the end). */
export function splitSections(document: string): Map<string, string> {
  const marks = [...document.matchAll(STEP_MARKER)];
  const sections = new Map<string, string>();
  marks.forEach((mark, index) => {
    const start = mark.index! + mark[0].length;
    const end = marks[index + 1]?.index ?? document.length;
    sections.set(mark[1]!, document.slice(start, end).trim());
  });
  return sections;
}

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { chapterSchema } from './schema.ts';

export type MachineName = 'jumpbox' | 'server' | 'node-0' | 'node-1';

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
  hints: string[];
  /** This step's part of the chapter's document. */
  prose: string;
}

export interface Chapter {
  number: number;
  slug: string;
  title: string;
  summary?: string;
  /** The chapter's whole document (content/<prose>). */
  document: string;
  steps: Step[];
}

/** A problem in a lab file, with where it is. */
export interface LabFileError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export const formatLabError = (error: LabFileError): string => `${error.file}:${error.line}:${error.column}: ${error.message}`;

export class CourseError extends Error {
  constructor(readonly errors: LabFileError[]) {
    super(errors.map(formatLabError).join('\n'));
  }
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_LABS_DIR = join(REPO, 'labs', 'chapters');
export const DEFAULT_CONTENT_DIR = join(REPO, 'content');

const validateChapter = new Ajv({ allErrors: true, strict: false }).compile(chapterSchema);

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
  if (errors.length > 0) throw new CourseError(errors);
  return chapters;
}

function loadChapter(file: string, shown: string, number: number, slug: string, contentDir: string, errors: LabFileError[]): Chapter | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter, prettyErrors: false });
  const at = (offset: number, message: string): LabFileError => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: shown, line, column: col, message };
  };
  if (doc.errors.length > 0) {
    errors.push(...doc.errors.map((e) => at(e.pos[0], `YAML: ${e.message.split('\n')[0]}`)));
    return null;
  }
  const data = doc.toJS() as Record<string, unknown>;
  if (!validateChapter(data)) {
    errors.push(...(validateChapter.errors ?? []).map((e) => at(offsetOf(doc, { instancePath: pathOfSubject(e) }), describe(e))));
    return null;
  }
  const raw = data as unknown as Omit<Chapter, 'number' | 'slug' | 'document' | 'steps'> & { prose: string; steps: Omit<Step, 'prose'>[] };
  const seen = new Set<string>();
  raw.steps.forEach((step, index) => {
    if (seen.has(step.id)) errors.push(at(offsetOf(doc, { instancePath: `/steps/${index}/id` }), `step id "${step.id}" is used twice`));
    seen.add(step.id);
  });
  const proseFile = join(contentDir, raw.prose);
  if (!existsSync(proseFile)) {
    errors.push(at(offsetOf(doc, { instancePath: '/prose' }), `prose file ${raw.prose} does not exist in ${relative(process.cwd(), contentDir) || contentDir}`));
    return null;
  }
  const document = readFileSync(proseFile, 'utf8');
  const sections = splitSections(document);
  raw.steps.forEach((step, index) => {
    if (!sections.has(step.id)) {
      errors.push(at(offsetOf(doc, { instancePath: `/steps/${index}/id` }), `${raw.prose} has no "<!-- step: ${step.id} -->" section for this step`));
    }
  });
  return {
    number,
    slug,
    title: raw.title,
    summary: raw.summary,
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

/** Where in the file the value an error talks about starts; its parent's when it is missing. */
function offsetOf(doc: Document, error: Pick<ErrorObject, 'instancePath'>): number {
  const path = error.instancePath.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}

/** The path of the value an error is about: an unknown field's own path rather than its parent's. */
function pathOfSubject(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') return `${error.instancePath}/${(error.params as { additionalProperty: string }).additionalProperty}`;
  return error.instancePath;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'the chapter';
  switch (error.keyword) {
    case 'required':
      return `${where} is missing "${(error.params as { missingProperty: string }).missingProperty}"`;
    case 'additionalProperties':
      return `${where} has an unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
    case 'enum':
      return `${where} must be one of: ${(error.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
    default:
      return `${where} ${error.message}`;
  }
}

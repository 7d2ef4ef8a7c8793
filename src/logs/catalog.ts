import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LabFilesError, loadYaml, type LabFileError } from '../engine/lab-files.ts';
import { fromPackage } from '../util/package-root.ts';
import type { LogEntry } from './parse.ts';

/** A message a component is known to print: what it means, and whether this lab expects it. */
export interface KnownMessage {
  component: string;
  /** The message contains this text (case-sensitive)… */
  contains?: string;
  /** …or matches this regular expression. */
  pattern?: string;
  means: string;
  /** Printed by a healthy lab too: noise here, with the reason. */
  expected: boolean;
  why?: string;
  /** Where to look next when it is not expected. */
  next?: string;
}

export interface Catalog {
  messages: KnownMessage[];
  /** The catalogued message a log line is, if any; without a component, any component's. */
  lookup(entry: Pick<LogEntry, 'message' | 'raw'> & { component?: string }): KnownMessage | null;
}

const knownMessageSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['means', 'expected'],
  oneOf: [{ required: ['contains'] }, { required: ['pattern'] }],
  properties: {
    contains: { type: 'string', minLength: 4 },
    pattern: { type: 'string', minLength: 4 },
    means: { type: 'string', minLength: 1 },
    expected: { type: 'boolean' },
    why: { type: 'string', minLength: 1 },
    next: { type: 'string', minLength: 1 },
  },
} as const;

/** The JSON schema of labs/logs/<file>.yaml: one component's known messages (`*`: lines any unit's journal has, as systemd's). */
export const catalogSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['component', 'messages'],
  properties: { component: { type: 'string', minLength: 1 }, messages: { type: 'array', minItems: 1, items: knownMessageSchema } },
} as const;

export const DEFAULT_CATALOG_DIR = fromPackage('labs', 'logs');

/** Every catalog file, validated; all problems (a bad regular expression too) are reported at once with file:line. */
export function loadCatalog(dir = DEFAULT_CATALOG_DIR): Catalog {
  const errors: LabFileError[] = [];
  const messages: KnownMessage[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const file = join(dir, name);
    const loaded = loadYaml<{ component: string; messages: Omit<KnownMessage, 'component'>[] }>(file, relative(process.cwd(), file), catalogSchema, errors);
    if (!loaded) continue;
    loaded.data.messages.forEach((message, index) => {
      if (message.expected && !message.why) errors.push(loaded.at(['messages', index, 'expected'], 'an expected message needs "why": the reason a healthy lab prints it'));
      if (message.pattern) {
        try {
          new RegExp(message.pattern);
        } catch (error) {
          errors.push(loaded.at(['messages', index, 'pattern'], `not a regular expression: ${(error as Error).message}`));
        }
      }
      messages.push({ component: loaded.data.component, ...message });
    });
  }
  if (errors.length > 0) throw new LabFilesError(errors);
  const compiled = messages.map((m) => ({ message: m, test: m.pattern ? ((re: RegExp) => (text: string) => re.test(text))(new RegExp(m.pattern)) : (text: string) => text.includes(m.contains!) }));
  return {
    messages,
    lookup(entry) {
      // A line can carry noise and a real error at once (a shim's relayed log): the error explains it.
      // A pasted journal line keeps klog's escaped quotes (err="… User \"x\" …"); the catalog's patterns read them plain.
      const unescaped = entry.raw.replace(/\\"/g, '"');
      const texts = unescaped === entry.raw ? [entry.message, entry.raw] : [entry.message, entry.raw, unescaped];
      const matching = compiled.filter(({ message, test }) => (!entry.component || message.component === entry.component || message.component === '*') && texts.some(test));
      return (matching.find(({ message }) => !message.expected) ?? matching[0])?.message ?? null;
    },
  };
}

/** A message with what makes it one occurrence (addresses, IDs, times, numbers) taken out: lines that differ only there count once. */
export function normalise(message: string): string {
  return message
    .replace(/\b\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?\b/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uid>')
    .replace(/\b[0-9a-f]{16,}\b/gi, '<id>')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<addr>')
    .replace(/-[a-z0-9]{5}\b|-[a-f0-9]{8,10}-[a-z0-9]{5}\b/g, '-<pod>')
    .replace(/\b\d+(\.\d+)?(ms|s|µs|ns|m)?\b/g, '<n>');
}

export interface Coverage {
  /** Distinct warnings and errors (normalised), by component. */
  distinct: number;
  explained: number;
  /** The distinct messages the catalog does not know, one sample line each. */
  unexplained: string[];
}

/** How many of the distinct WARN/ERROR messages among `entries` the catalog explains. */
export function coverage(catalog: Catalog, entries: LogEntry[]): Coverage {
  const distinct = new Map<string, LogEntry>();
  for (const entry of entries) {
    if (entry.severity !== 'warn' && entry.severity !== 'error' && entry.severity !== 'fatal') continue;
    const key = `${entry.component}\t${normalise(entry.message)}`;
    if (!distinct.has(key)) distinct.set(key, entry);
  }
  const unexplained = [...distinct.values()].filter((entry) => !catalog.lookup(entry)).map((entry) => `${entry.component}: ${entry.message.slice(0, 200)}`);
  return { distinct: distinct.size, explained: distinct.size - unexplained.length, unexplained };
}

import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';

/** A problem in a lab file, with where it is. */
export interface LabFileError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export const formatLabError = (error: LabFileError): string => `${error.file}:${error.line}:${error.column}: ${error.message}`;

export class LabFilesError extends Error {
  constructor(readonly errors: LabFileError[]) {
    super(errors.map(formatLabError).join('\n'));
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });

const validators = new WeakMap<object, ReturnType<typeof ajv.compile>>();
/** Compiling a schema costs milliseconds; every chapter file shares one validator. */
function compiled(schema: object): ReturnType<typeof ajv.compile> {
  let validate = validators.get(schema);
  if (!validate) validators.set(schema, (validate = ajv.compile(schema)));
  return validate;
}

export interface LoadedYaml<T> {
  data: T;
  /** Where a value is, for errors found after schema validation. */
  at: (path: (string | number)[], message: string) => LabFileError;
}

/** Parses a YAML lab file and validates it against a schema; every problem goes to `errors` with file:line. */
export function loadYaml<T>(file: string, shown: string, schema: object, errors: LabFileError[]): LoadedYaml<T> | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter, prettyErrors: false });
  const atOffset = (offset: number, message: string): LabFileError => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: shown, line, column: col, message };
  };
  if (doc.errors.length > 0) {
    errors.push(...doc.errors.map((e) => atOffset(e.pos[0], `YAML: ${e.message.split('\n')[0]}`)));
    return null;
  }
  const data = doc.toJS() as T;
  const validate = compiled(schema);
  if (!validate(data)) {
    errors.push(...(validate.errors ?? []).map((e) => atOffset(offsetOf(doc, pathOfSubject(e)), describe(e))));
    return null;
  }
  return { data, at: (path, message) => atOffset(offsetOf(doc, path), message) };
}

/** Where in the file the value at a path starts; its parent's when it is missing. */
function offsetOf(doc: Document, path: (string | number)[]): number {
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}

/** The path of the value an error is about: an unknown field's own path rather than its parent's. */
function pathOfSubject(error: ErrorObject): (string | number)[] {
  const path = error.instancePath.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  if (error.keyword === 'additionalProperties') path.push((error.params as { additionalProperty: string }).additionalProperty);
  return path;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'the file';
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

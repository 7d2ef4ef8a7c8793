import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type JSONSchemaType } from 'ajv';
import { LabError } from '../src/util/errors.ts';
import type { SnapshotShape } from './provider.ts';

/** snapshot.json, the index of an exported snapshot's folder. */
export interface SnapshotIndex {
  id: string;
  machines: string[];
  /** The machines whose containerd volume is in the folder (as <machine>-containerd.tar). */
  volumes: string[];
}

/** The one schema of snapshot.json: ids and machine names are those `shape` allows, and nothing else is in it. */
export function snapshotIndexSchema(shape: SnapshotShape): JSONSchemaType<SnapshotIndex> {
  const machine = { type: 'string', enum: [...shape.machines] } as const;
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'machines', 'volumes'],
    properties: {
      // Anchored here, so a shape's pattern cannot match a part of an id only.
      id: { type: 'string', pattern: `^(?:${shape.id.source})$` },
      machines: { type: 'array', minItems: 1, uniqueItems: true, items: machine },
      volumes: { type: 'array', uniqueItems: true, items: machine },
    },
  };
}

const ajv = new Ajv({ allErrors: true });

/**
 * Reads snapshot.json (`text`, from `file`) as `shape` allows it, or throws a LabError naming the file
 * and every field that is wrong. Nothing else is done with it first: its names become image and volume
 * names and helper arguments only once they have passed.
 */
export function parseSnapshotIndex(text: string, file: string, shape: SnapshotShape): SnapshotIndex {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw refused(file, [`it is not JSON (${(error as Error).message})`]);
  }
  const validate = ajv.compile(snapshotIndexSchema(shape));
  if (!validate(data)) throw refused(file, (validate.errors ?? []).map((e) => describe(e, data, shape)));
  const strays = data.volumes.flatMap((machine, i) => (data.machines.includes(machine) ? [] : [`volumes[${i}] is ${JSON.stringify(machine)}, which machines does not list`]));
  if (strays.length > 0) throw refused(file, strays);
  return data;
}

/** parseSnapshotIndex of a file; one that cannot be read is refused as well. */
export function readSnapshotIndex(file: string, shape: SnapshotShape): SnapshotIndex {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw refused(file, [`it cannot be read (${(error as Error).message})`]);
  }
  return parseSnapshotIndex(text, file, shape);
}

function refused(file: string, problems: string[]): LabError {
  return new LabError(
    `${file} is not a snapshot this lab can import: ${problems.join('; ')}. The snapshot was not imported (nothing was removed or run)`,
    'make the bundle again where the snapshot was taken: lab artifacts bundle <file> --snapshots',
  );
}

/** What is wrong, named by its field as the file spells it (volumes[0]), with the value found. */
function describe(error: ErrorObject, data: unknown, shape: SnapshotShape): string {
  const path = error.instancePath.split('/').slice(1);
  const field = path.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join('').replace(/^\./, '');
  const found = shown(path.reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], data));
  switch (error.keyword) {
    case 'required':
      return `"${(error.params as { missingProperty: string }).missingProperty}" is missing`;
    case 'additionalProperties':
      return `"${(error.params as { additionalProperty: string }).additionalProperty}" is not a field of snapshot.json`;
    case 'type':
      return `${field || 'the file'} must be ${(error.params as { type: string }).type === 'object' ? 'an object' : `a ${(error.params as { type: string }).type}`}, not ${found}`;
    case 'enum':
      return `${field} is ${found}, not one of the lab's machines (${shape.machines.join(', ')})`;
    case 'pattern':
      return `${field} is ${found}, not a snapshot id of the shape lab snapshot makes (${shape.id.source})`;
    case 'uniqueItems':
      return `${field} names a machine twice`;
    case 'minItems':
      return `${field} is empty`;
    default:
      return `${field || 'the file'} ${error.message ?? 'is not valid'}`;
  }
}

/** A value as the message shows it: JSON, cut short. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

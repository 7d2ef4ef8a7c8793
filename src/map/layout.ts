import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { LabFilesError, loadYaml, type LabFileError } from '../engine/lab-files.ts';
import { MACHINE_NAMES } from '../lab/topology.ts';
import { fromPackage } from '../util/package-root.ts';

/** labs/map.yaml: the components drawn on each machine and who talks to whom. */
export interface MapLayout {
  /** Shell run first in the map's one script on the server. */
  prelude: string;
  components: { id: string; label: string; machines: string[]; health?: string; probe?: string }[];
  links: { from: string; to: string; says: string }[];
}

/** One box of the map: a component on one machine. */
export interface MapBox {
  /** component@machine */
  id: string;
  component: string;
  label: string;
  machine: string;
  health?: string;
  /** The probe with {machine} filled in. */
  probe?: string;
}

export interface MapLink {
  from: string;
  to: string;
  says: string;
}

export const DEFAULT_MAP_FILE = fromPackage('labs', 'map.yaml');

const mapSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prelude', 'components', 'links'],
  properties: {
    prelude: { type: 'string' },
    components: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'label', 'machines'],
        properties: { id: { type: 'string', pattern: '^[a-z0-9-]+$' }, label: { type: 'string' }, machines: { type: 'array', minItems: 1, items: { enum: [...MACHINE_NAMES] } }, health: { type: 'string' }, probe: { type: 'string' } },
      },
    },
    links: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['from', 'to', 'says'], properties: { from: { type: 'string' }, to: { type: 'string' }, says: { type: 'string' } } },
    },
  },
} as const;

/** Reads and validates the map; a link naming an unknown component, or a check health.yaml lacks, is an error with file:line. */
export function loadMapLayout(healthComponents: string[], file = DEFAULT_MAP_FILE): MapLayout {
  const errors: LabFileError[] = [];
  const shown = relative(process.cwd(), file);
  const loaded = existsSync(file) ? loadYaml<MapLayout>(file, shown, mapSchema, errors) : null;
  if (!loaded) throw new LabFilesError(errors.length ? errors : [{ file, line: 1, column: 1, message: 'missing' }]);
  const ids = new Set(loaded.data.components.map((c) => c.id));
  for (const c of loaded.data.components) {
    if (c.health && !c.probe) errors.push({ file: shown, line: 1, column: 1, message: `component ${c.id}: a component with a health check needs a probe` });
    if (c.health && !healthComponents.includes(c.health)) errors.push({ file: shown, line: 1, column: 1, message: `component ${c.id}: labs/health.yaml has no check of component "${c.health}"` });
  }
  for (const l of loaded.data.links) {
    for (const end of [l.from, l.to]) if (!ids.has(end)) errors.push({ file: shown, line: 1, column: 1, message: `link ${l.from} → ${l.to}: no component "${end}"` });
  }
  if (errors.length > 0) throw new LabFilesError(errors);
  return loaded.data;
}

/** The boxes (one per component and machine) and the links between them. */
export function expandLayout(layout: MapLayout): { boxes: MapBox[]; links: MapLink[] } {
  const boxes = layout.components.flatMap((c) =>
    c.machines.map((machine) => ({ id: `${c.id}@${machine}`, component: c.id, label: c.label, machine, health: c.health, probe: c.probe?.replaceAll('{machine}', machine) })),
  );
  const links: MapLink[] = [];
  for (const link of layout.links) {
    const froms = boxes.filter((b) => b.component === link.from);
    const tos = boxes.filter((b) => b.component === link.to);
    for (const from of froms) {
      const local = tos.filter((t) => t.machine === from.machine);
      for (const to of local.length ? local : tos) links.push({ from: from.id, to: to.id, says: link.says });
    }
  }
  return { boxes, links };
}

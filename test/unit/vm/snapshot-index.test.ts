import { describe, expect, it } from 'vitest';
import { IMPORTABLE_SNAPSHOT } from '../../../src/engine/snapshots.ts';
import { LabError } from '../../../src/util/errors.ts';
import { parseSnapshotIndex } from '../../../vm/snapshot-index.ts';

const FILE = '/bundle/snapshots/x/snapshot.json';
const ID = 'ch14-2767db43790d-mx8do6b46ee7';
const good = { id: ID, machines: ['jumpbox', 'node-0', 'node-1', 'server'], volumes: ['node-0', 'node-1'] };
const parse = (index: unknown): unknown => parseSnapshotIndex(typeof index === 'string' ? index : JSON.stringify(index), FILE, IMPORTABLE_SNAPSHOT);
const refusal = (index: unknown): string => {
  try {
    parse(index);
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    return (error as LabError).message;
  }
  throw new Error('it was accepted');
};

describe('snapshot.json, read before anything of an imported snapshot is used', () => {
  it('is accepted as exportSnapshot writes it', () => {
    expect(parse(good)).toEqual(good);
  });

  it.each([
    ['a volume that is a shell command', { ...good, volumes: ['x; touch /pwned'] }, /volumes\[0\] is "x; touch \/pwned", not one of the lab's machines \(jumpbox, server, node-0, node-1\)/],
    ['a machine that is a path', { ...good, machines: ['../../etc'] }, /machines\[0\] is "\.\.\/\.\.\/etc", not one of the lab's machines/],
    ['an unknown machine', { ...good, machines: [...good.machines, 'node-2'] }, /machines\[4\] is "node-2", not one of the lab's machines/],
    ['an id of another shape', { ...good, id: 'latest' }, /id is "latest", not a snapshot id of the shape lab snapshot makes/],
    ['an id that is a path', { ...good, id: `${ID}/../../x` }, /id is ".*\/\.\.\/\.\.\/x", not a snapshot id/],
    ['an id with a command after it', { ...good, id: `${ID}; rm -rf /` }, /id is ".*; rm -rf \/", not a snapshot id/],
    ['an id that is not a string', { ...good, id: 7 }, /id must be a string, not 7/],
    ['a volume of a machine it does not list', { ...good, machines: ['server'], volumes: ['node-0'] }, /volumes\[0\] is "node-0", which machines does not list/],
    ['a machine named twice', { ...good, machines: ['server', 'server'] }, /machines names a machine twice/],
    ['no machines', { ...good, machines: [], volumes: [] }, /machines is empty/],
    ['a field of its own', { ...good, size: 1 }, /"size" is not a field of snapshot\.json/],
    ['a missing field', { id: ID, machines: ['server'] }, /"volumes" is missing/],
    ['a list instead of the index', [good], /the file must be an object/],
    ['text that is not JSON', '{"id": ', /it is not JSON/],
  ])('refuses %s, naming the file and the field', (_what, index, problem) => {
    const message = refusal(index);
    expect(message).toContain(`${FILE} is not a snapshot this lab can import: `);
    expect(message).toMatch(problem);
    expect(message).toMatch(/The snapshot was not imported \(nothing was removed or run\)$/);
  });

  it('holds the id to the whole pattern it is given, even one that is not anchored', () => {
    const loose = { machines: ['server'], id: /ch\d+/ };
    expect(() => parseSnapshotIndex(JSON.stringify({ id: 'ch01', machines: ['server'], volumes: [] }), FILE, loose)).not.toThrow();
    expect(() => parseSnapshotIndex(JSON.stringify({ id: 'x; ch01', machines: ['server'], volumes: [] }), FILE, loose)).toThrow(/id is "x; ch01", not a snapshot id/);
  });
});

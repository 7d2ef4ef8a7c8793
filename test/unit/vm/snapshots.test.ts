import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { IMPORTABLE_SNAPSHOT } from '../../../src/engine/snapshots.ts';
import { helperCommand } from '../../../vm/helper-container.ts';
import { importSnapshot, volumeExport, volumeImports } from '../../../vm/snapshots.ts';

const ID = 'ch14-2767db43790d-mx8do6b46ee7';
const good = { id: ID, machines: ['jumpbox', 'node-0', 'node-1', 'server'], volumes: ['node-0', 'node-1'] };

/** An engine that records each call made of it, and fails it. */
function recordingEngine(): { docker: Docker; calls: string[] } {
  const calls: string[] = [];
  const docker = new Proxy({}, {
    get: (_engine, name) => (name === 'then' ? undefined : (): never => {
      calls.push(String(name));
      throw new Error(`the engine was asked to ${String(name)}`);
    }),
  }) as Docker;
  return { docker, calls };
}

const folderWith = (index: string): string => {
  const folder = mkdtempSync(join(tmpdir(), 'hardway-snapshot-'));
  writeFileSync(join(folder, 'snapshot.json'), index);
  return folder;
};

describe('importing an exported snapshot folder', () => {
  it.each([
    ['a volume that is a shell command', { ...good, volumes: ['x; touch /pwned'] }, /volumes\[0\] is "x; touch \/pwned"/],
    ['a machine that is a path', { ...good, machines: ['../../etc'], volumes: [] }, /machines\[0\] is "\.\.\/\.\.\/etc"/],
    ['an id not of the shape snapshotId makes', { ...good, id: 'hardway-machine' }, /id is "hardway-machine", not a snapshot id/],
    ['an unknown machine', { ...good, machines: ['server', 'node-2'], volumes: ['node-2'] }, /machines\[1\] is "node-2"/],
  ])('refuses %s before the engine is asked anything (nothing removed, loaded or run)', async (_what, index, problem) => {
    const folder = folderWith(JSON.stringify(index));
    const { docker, calls } = recordingEngine();
    const error = await importSnapshot(docker, folder, IMPORTABLE_SNAPSHOT).then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toContain(join(folder, 'snapshot.json'));
    expect(error?.message).toMatch(problem);
    expect(calls).toEqual([]);
  });

  it('refuses a folder without snapshot.json the same way', async () => {
    const { docker, calls } = recordingEngine();
    const folder = mkdtempSync(join(tmpdir(), 'hardway-snapshot-'));
    await expect(importSnapshot(docker, folder, IMPORTABLE_SNAPSHOT)).rejects.toThrow(/snapshot\.json is not a snapshot this lab can import: it cannot be read/);
    expect(calls).toEqual([]);
  });

  it('a snapshot that passes does reach the engine: first to remove an old snapshot of its id', async () => {
    const { docker, calls } = recordingEngine();
    await expect(importSnapshot(docker, folderWith(JSON.stringify(good)), IMPORTABLE_SNAPSHOT)).rejects.toThrow(/asked to listImages/);
    expect(calls).toEqual(['listImages']);
  });

  it("unpacks each volume into the snapshot's volume of its machine, named as the provider names them", () => {
    const copies = volumeImports(good, '/carried');
    expect(copies.map((c) => [c.image, c.volume])).toEqual([
      [`hardway/snapshot:${ID}-node-0`, `hardway-snapshot-${ID}-node-0-containerd`],
      [`hardway/snapshot:${ID}-node-1`, `hardway-snapshot-${ID}-node-1-containerd`],
    ]);
    expect(copies[0]!.mounts).toEqual([
      { Type: 'bind', Source: '/carried', Target: '/in', ReadOnly: true },
      { Type: 'volume', Source: `hardway-snapshot-${ID}-node-0-containerd`, Target: '/to' },
    ]);
    expect(copies.map((c) => c.run.args)).toEqual([['node-0'], ['node-1']]);
  });
});

describe('the volume scripts', () => {
  const marker = join(mkdtempSync(join(tmpdir(), 'hardway-pwned-')), 'pwned');
  const hostile = `x$(touch ${marker})`;
  const copies = [volumeExport(ID, hostile, '/carried'), ...volumeImports({ id: ID, machines: [hostile], volumes: [hostile] }, '/carried')];

  it.each(copies.map((copy) => [copy.run.script.slice(0, 60), copy] as const))('get the machine only as an argument, never in their text: %s', (_script, copy) => {
    expect(copy.run.script).not.toContain('x$(');
    const [shell, ...args] = helperCommand(copy.run);
    spawnSync(shell!, args, { timeout: 10_000 });
    expect(existsSync(marker)).toBe(false);
    // The same name spliced into the script's text would have run.
    spawnSync('sh', ['-c', copy.run.script.replaceAll('$1', hostile)], { timeout: 10_000 });
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
  });
});

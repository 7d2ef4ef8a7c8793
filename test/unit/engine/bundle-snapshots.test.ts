import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBundle, importBundle } from '../../../src/artifacts/bundle.ts';
import { INDEX_FILE, componentDir } from '../../../src/artifacts/cache.ts';
import { findComponent, hostPlatform } from '../../../src/artifacts/manifest.ts';
import { LabEngine } from '../../../src/engine/lab.ts';
import { IMPORTABLE_SNAPSHOT } from '../../../src/engine/snapshots.ts';
import { FAST_SETUP, fakeCourse, fakeLab } from '../../helpers/fake-course.ts';
import { FakeProvider } from '../../helpers/fake-provider.ts';

describe('a bundle carries snapshots for an offline room', () => {
  const saved = process.env.HARDWAY_CACHE;
  beforeEach(() => {
    process.env.HARDWAY_CACHE = mkdtempSync(join(tmpdir(), 'hardway-bundle-'));
    const crictl = findComponent('crictl')!;
    const dir = componentDir(crictl, hostPlatform());
    mkdirSync(dir, { recursive: true });
    for (const binary of crictl.binaries) writeFileSync(join(dir, binary), 'binary');
    writeFileSync(join(dir, INDEX_FILE), '');
  });
  afterEach(() => {
    process.env.HARDWAY_CACHE = saved;
  });

  it('writes each snapshot into the tarball, checks it on import and hands it to the provider there; a new lab starts from it', async () => {
    const { engine, provider } = fakeLab(fakeCourse(), new FakeProvider(), 'instructor');
    await engine.up(3, { snapshots: false });
    const snapshot = await engine.snapshot();
    const file = join(process.env.HARDWAY_CACHE!, 'room.tar.gz');
    const written = await createBundle(file, { ids: [snapshot.id], write: (id, folder) => provider.exportSnapshot(id, folder) });
    expect(written).toContain(`snapshots/${snapshot.id}`);

    const room = new FakeProvider();
    const imported = await importBundle(file, async (folder) => (await room.importSnapshot(folder, IMPORTABLE_SNAPSHOT)).id);
    expect(imported).toContain(`snapshots/${snapshot.id}`);
    const learner = new LabEngine(room, 'learner', fakeCourse(), FAST_SETUP);
    await learner.up(3);
    expect(room.ran('learner', 'count solve-a1')).toBe(0);
    expect(learner.progress().passed.sort()).toEqual([...snapshot.passed].sort());
  });

  it('without a reader the snapshots are left out, and a bundle without snapshots imports as before', async () => {
    const file = join(process.env.HARDWAY_CACHE!, 'plain.tar.gz');
    const written = await createBundle(file);
    expect(written.some((f) => f.startsWith('snapshots/'))).toBe(false);
    const imported = await importBundle(file, async () => {
      throw new Error('no snapshot should be read');
    });
    expect(imported.length).toBe(1);
  });
});

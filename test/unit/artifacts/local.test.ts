import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../../../src/artifacts/manifest.ts';
import { fromLocalFolder } from '../../../src/artifacts/sources/local.ts';

describe('binaries from a local folder (--bin-dir)', () => {
  const [course, upgrade] = loadManifest().filter((c) => c.name === 'kubernetes');
  const fill = (dir: string, binaries: string[]) => {
    mkdirSync(dir, { recursive: true });
    for (const binary of binaries) writeFileSync(join(dir, binary), '');
  };

  it('takes a version\'s own subfolder when there is one, the folder itself otherwise', () => {
    const folder = mkdtempSync(join(tmpdir(), 'hardway-bin-'));
    fill(folder, course!.binaries);
    fill(join(folder, `kubernetes-${upgrade!.version}`), upgrade!.binaries);
    expect(fromLocalFolder(course!, folder).get('kubelet')).toBe(join(folder, 'kubelet'));
    expect(fromLocalFolder(upgrade!, folder).get('kubelet')).toBe(join(folder, `kubernetes-${upgrade!.version}`, 'kubelet'));
  });

  it('names what is missing', () => {
    const folder = mkdtempSync(join(tmpdir(), 'hardway-bin-'));
    fill(folder, ['kubectl']);
    expect(() => fromLocalFolder(course!, folder)).toThrow(/lacks kube-apiserver/);
  });
});

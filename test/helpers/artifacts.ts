import { binaryPath } from '../../src/artifacts/cache.ts';
import { findComponent, hostPlatform } from '../../src/artifacts/manifest.ts';
import { manifestComponents, obtainAll } from '../../src/artifacts/obtain.ts';

/** Makes sure the real binaries are in the cache, building them from source (tests never reach for release hosts). */
export async function ensureArtifacts(): Promise<void> {
  await obtainAll(manifestComponents(['kubernetes', 'etcd', 'coredns', 'containerd', 'runc', 'cni-plugins']), { sources: ['source'] });
}

export function binary(name: string): string {
  const component = findComponent(name);
  if (!component) throw new Error(`no component has ${name}`);
  return binaryPath(component, name, hostPlatform());
}

import { binaryPath } from '../artifacts/cache.ts';
import { findComponent, hostPlatform } from '../artifacts/manifest.ts';
import { LabError } from '../util/errors.ts';
import { Progress } from '../util/output.ts';
import { sleep } from '../util/time.ts';
import type { MachineProvider, PodImage } from '../../vm/provider.ts';

export const REGISTRY_PORT = 5000;

/**
 * The lab has no internet, so pods pull from a real registry (Debian's docker-registry) on the
 * jumpbox; the workers' containerd is pointed at it as a mirror of docker.io and registry.k8s.io.
 */
export async function stockRegistry(lab: string, provider: MachineProvider): Promise<void> {
  const jumpbox = (await provider.list(lab)).find((m) => m.name === 'jumpbox');
  if (!jumpbox?.ip) throw new LabError(`lab ${lab} has no running jumpbox`, `run: lab up --lab ${lab}`);
  const registry = `${jumpbox.ip}:${REGISTRY_PORT}`;
  const progress = new Progress('image registry');
  progress.update('starting docker-registry on the jumpbox');
  const started = await provider.exec(lab, 'jumpbox', ['systemctl', 'enable', '--now', 'docker-registry']);
  if (started.exitCode !== 0) throw new LabError(`docker-registry did not start on the jumpbox: ${started.stderr.trim()}`, 'lab shell jumpbox, then journalctl -u docker-registry');
  await waitForRegistry(registry);

  const images = podImages();
  const missing: PodImage[] = [];
  for (const image of images) if (!(await registryHas(registry, image.registryPath))) missing.push(image);
  if (missing.length === 0) {
    progress.done(`${images.length} images served at jumpbox:${REGISTRY_PORT}`);
    return;
  }
  await provider.publishPodImages(missing, registry);
  progress.done(`${images.length} images served at jumpbox:${REGISTRY_PORT}`);
}

/** The images the course's pods run (the CoreDNS one carries our built binary), by the names learners type. */
export function podImages(): PodImage[] {
  const coredns = findComponent('coredns')!;
  const tag = coredns.version.replace(/^v/, '');
  return [
    { reference: 'registry.k8s.io/pause:3.10', registryPath: 'pause:3.10' },
    // r2: busybox from Debian trixie where the host's is older than 1.36 (nslookup without search domains).
    { reference: 'docker.io/library/busybox:latest', registryPath: 'library/busybox:latest', revision: 'r2' },
    { reference: 'docker.io/library/nginx:latest', registryPath: 'library/nginx:latest' },
    { reference: `docker.io/coredns/coredns:${tag}`, registryPath: `coredns/coredns:${tag}`, file: binaryPath(coredns, 'coredns', hostPlatform()) },
  ];
}

async function waitForRegistry(registry: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://${registry}/v2/`, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  throw new LabError(`the registry at ${registry} does not answer`, 'lab shell jumpbox, then journalctl -u docker-registry');
}

async function registryHas(registry: string, path: string): Promise<boolean> {
  const [repository, tag] = path.split(':') as [string, string];
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
    signal: AbortSignal.timeout(5000),
  });
  return response.ok;
}

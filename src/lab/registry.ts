import { spawn } from 'node:child_process';
import { binaryPath } from '../artifacts/cache.ts';
import { findComponent, hostPlatform } from '../artifacts/manifest.ts';
import { LabError } from '../cli/errors.ts';
import { Progress } from '../cli/output.ts';
import { sleep } from '../util/time.ts';
import type { DockerProvider } from '../../vm/docker-provider.ts';
import { ensurePodImages, podImages, type PodImage } from '../../vm/pod-images.ts';

export const REGISTRY_PORT = 5000;

/**
 * The lab has no internet, so pods pull from a real registry (Debian's docker-registry) on the
 * jumpbox; the workers' containerd is pointed at it as a mirror of docker.io and registry.k8s.io.
 */
export async function stockRegistry(lab: string, provider: DockerProvider): Promise<void> {
  const jumpbox = (await provider.list(lab)).find((m) => m.name === 'jumpbox');
  if (!jumpbox?.ip) throw new LabError(`lab ${lab} has no running jumpbox`, `run: lab up --lab ${lab}`);
  const registry = `${jumpbox.ip}:${REGISTRY_PORT}`;
  const progress = new Progress('image registry');
  progress.update('starting docker-registry on the jumpbox');
  const started = await provider.exec(lab, 'jumpbox', ['systemctl', 'enable', '--now', 'docker-registry']);
  if (started.exitCode !== 0) throw new LabError(`docker-registry did not start on the jumpbox: ${started.stderr.trim()}`, 'lab shell jumpbox, then journalctl -u docker-registry');
  await waitForRegistry(registry);

  const coredns = findComponent('coredns')!;
  const images = podImages(binaryPath(coredns, 'coredns', hostPlatform()));
  const missing: PodImage[] = [];
  for (const image of images) if (!(await registryHas(registry, image.registryPath))) missing.push(image);
  if (missing.length === 0) {
    progress.done(`${images.length} images served at jumpbox:${REGISTRY_PORT}`);
    return;
  }
  await ensurePodImages(provider.docker, missing);
  for (const image of missing) {
    progress.update(`pushing ${image.reference}`);
    await skopeoCopy(`docker-daemon:${image.localTag}`, `docker://${registry}/${image.registryPath}`);
  }
  progress.done(`${images.length} images served at jumpbox:${REGISTRY_PORT}`);
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

function skopeoCopy(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', from, to], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', () => reject(new LabError('skopeo is not installed', 'run: lab setup')));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new LabError(`skopeo could not push ${from}: ${output.trim()}`, 'check that the jumpbox registry runs (lab status)'))));
  });
}

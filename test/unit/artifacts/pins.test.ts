import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPins, loadManifest, pinOf, releaseFileName, SUPPORTED_PLATFORMS, type Component } from '../../../src/artifacts/manifest.ts';
import { fromRelease, releaseFiles } from '../../../src/artifacts/sources/release.ts';

const amd64 = { os: 'linux', arch: 'amd64' } as const;
const sum = (digit: string) => digit.repeat(64);

const tool = (sha256?: Component['sha256']): Component => ({
  name: 'fixture-tool',
  version: 'v1.0.0',
  binaries: ['tool', 'helper'],
  official: { url: 'https://releases.example.invalid/{version}/{binary}.{arch}' },
  sha256,
});

describe('the manifest pins release files', () => {
  const entry = (name: string, version?: string) => loadManifest().find((c) => c.name === name && (!version || c.version === version))!;

  it('keys every pin by a supported platform and a file its URL gives, with a SHA-256 (the manifest loads)', () => {
    for (const component of loadManifest()) {
      for (const [platform, files] of Object.entries(component.sha256 ?? {})) {
        const supported = SUPPORTED_PLATFORMS.find((p) => `${p.os}-${p.arch}` === platform)!;
        expect(supported, `${component.name} ${platform}`).toBeDefined();
        const names = component.binaries.map((binary) => releaseFileName(component, supported, binary));
        for (const [file, value] of Object.entries(files)) {
          expect(names, `${component.name} ${file}`).toContain(file);
          expect(value).toMatch(/^[0-9a-f]{64}$/);
        }
      }
    }
  });

  it('pins what upstream publishes for both architectures: etcd, the CNI plugins, crictl, kubelet and kubectl of both Kubernetes versions', () => {
    for (const platform of SUPPORTED_PLATFORMS) {
      expect(pinOf(entry('etcd'), platform, `etcd-v3.6.8-linux-${platform.arch}.tar.gz`)).toMatch(/^[0-9a-f]{64}$/);
      expect(pinOf(entry('cni-plugins'), platform, `cni-plugins-linux-${platform.arch}-v1.9.1.tgz`)).toMatch(/^[0-9a-f]{64}$/);
      expect(pinOf(entry('crictl'), platform, `crictl-v1.35.0-linux-${platform.arch}.tar.gz`)).toMatch(/^[0-9a-f]{64}$/);
      for (const version of ['v1.34.4', 'v1.35.8']) {
        for (const binary of ['kubelet', 'kubectl']) expect(pinOf(entry('kubernetes', version), platform, binary), `${version} ${binary}`).toMatch(/^[0-9a-f]{64}$/);
      }
    }
    expect(pinOf(entry('kubernetes', 'v1.35.8'), amd64, 'kubelet')).toBe('6971b9f95e54dbed67a2271abe6e78f8cc2894494649f3cf39e4b25a82dca923');
  });

  it('leaves unpinned what no published SHA-256 was found for, so those files are never downloaded', () => {
    expect(pinOf(entry('kubernetes', 'v1.34.4'), amd64, 'kube-apiserver')).toBeUndefined();
    expect(entry('containerd').sha256).toBeUndefined();
    expect(entry('runc').sha256).toBeUndefined();
    expect(entry('coredns').sha256).toBeUndefined();
    // The second Kubernetes entry shares the first one's `official:` through a YAML alias, never its pins.
    expect(entry('kubernetes', 'v1.35.8').sha256).not.toBe(entry('kubernetes', 'v1.34.4').sha256);
  });

  it('refuses a pin for an unknown platform, a file the URL never gives, or a value that is not a SHA-256', () => {
    expect(() => checkPins(tool({ 'linux-amd64': { 'tool.amd64': sum('a') } }))).not.toThrow();
    expect(() => checkPins(tool({ 'darwin-amd64': { 'tool.amd64': sum('a') } }))).toThrow(/fixture-tool v1\.0\.0 sha256: "darwin-amd64" is not a platform/);
    expect(() => checkPins(tool({ 'linux-amd64': { 'tool.arm64': sum('a') } }))).toThrow(/"tool\.arm64" is not a release file of fixture-tool \(its URL gives tool\.amd64, helper\.amd64\)/);
    expect(() => checkPins(tool({ 'linux-amd64': { 'tool.amd64': 'ABC' } }))).toThrow(/"ABC" is not a SHA-256/);
  });

  it('relocates each release file onto a mirror under the same name, with the same pin', () => {
    const files = releaseFiles(tool({ 'linux-amd64': { 'tool.amd64': sum('a') } }), amd64, 'http://mirror.local:8000/');
    expect(files).toEqual([
      { binary: 'tool', file: 'tool.amd64', url: 'http://mirror.local:8000/v1.0.0/tool.amd64', pin: sum('a') },
      { binary: 'helper', file: 'helper.amd64', url: 'http://mirror.local:8000/v1.0.0/helper.amd64', pin: undefined },
    ]);
  });
});

describe('a release file without a pin', () => {
  let cache: string;
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'hardway-pins-'));
    process.env.HARDWAY_CACHE = cache;
  });
  afterEach(() => {
    delete process.env.HARDWAY_CACHE;
    rmSync(cache, { recursive: true, force: true });
  });

  it('is refused from a mirror before anything is requested, naming the file and how to pin it', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests++;
      response.writeHead(200).end('anything');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const refused = fromRelease(tool({ 'linux-amd64': { 'tool.amd64': sum('a') } }), amd64, cache, mirror);
      await expect(refused).rejects.toThrow(/fixture-tool v1\.0\.0: helper\.amd64 \(linux-amd64\) has no pinned SHA-256 in the manifest, so it is not fetched from the mirror/);
      await expect(refused).rejects.toThrow(/under sha256: linux-amd64: helper\.amd64: in fixture-tool v1\.0\.0's entry of src\/artifacts\/manifest\.yaml/);
      await expect(refused).rejects.toMatchObject({ next: expect.stringMatching(/--source source/) });
      expect(requests).toBe(0);
    } finally {
      server.close();
    }
  });
});

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { binaryPath } from '../../../src/artifacts/cache.ts';
import { hostPlatform, loadManifest, pinOf, platformName, type Component } from '../../../src/artifacts/manifest.ts';
import { manifestComponents, obtainAll } from '../../../src/artifacts/obtain.ts';
import { releaseFiles } from '../../../src/artifacts/sources/release.ts';
import { verifyArtifacts } from '../../../src/artifacts/verify.ts';
import { binary, ensureArtifacts } from '../../helpers/artifacts.ts';
import { lab, labAsync } from '../../helpers/cli.ts';

const made: string[] = [];
/** A folder of this file's own, removed after it: caches, mirrors and bundles here are copies of the cache (gigabytes). */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * The manifest's entries pinned to this mirror's files instead of upstream's: the binaries here are
 * the cache's, built from source, so upstream's real pins refuse them (as the CLI test below shows).
 */
function pinnedTo(root: string, names: string[]): Component[] {
  const platform = hostPlatform();
  return manifestComponents(names).map((component) => {
    const pins = Object.fromEntries(releaseFiles(component, platform).map(({ file, url }) => [file, sha256(join(root, new URL(url).pathname))]));
    return { ...component, sha256: { [platformName(platform)]: pins } };
  });
}

/** Lays out real binaries as the upstream releases publish them, under a mirror root, each with a checksum file matching it. */
function buildMirror(root: string): void {
  const put = (path: string, from: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    copyFileSync(from, join(root, path));
  };
  // Both pinned Kubernetes versions, each under its own release path.
  for (const kubernetes of loadManifest().filter((c) => c.name === 'kubernetes')) {
    for (const name of kubernetes.binaries) {
      const path = `release/${kubernetes.version}/bin/linux/amd64/${name}`;
      put(path, binaryPath(kubernetes, name, hostPlatform()));
      writeFileSync(join(root, `${path}.sha256`), `${sha256(join(root, path))}\n`);
    }
  }
  const release = 'etcd-io/etcd/releases/download/v3.6.8';
  const staging = tempDir('hardway-etcd-');
  mkdirSync(join(staging, 'etcd-v3.6.8-linux-amd64'));
  for (const name of ['etcd', 'etcdctl', 'etcdutl']) copyFileSync(binary(name), join(staging, 'etcd-v3.6.8-linux-amd64', name));
  mkdirSync(join(root, release), { recursive: true });
  const archive = join(root, release, 'etcd-v3.6.8-linux-amd64.tar.gz');
  expect(spawnSync('tar', ['-czf', archive, '-C', staging, 'etcd-v3.6.8-linux-amd64']).status).toBe(0);
  writeFileSync(join(root, release, 'SHA256SUMS'), `${sha256(archive)}  etcd-v3.6.8-linux-amd64.tar.gz\n`);
}

/** containerd, runc and the CNI plugins as their releases publish them: a tarball with bin/, a bare binary, a `tar -C dir .` archive. */
function buildRuntimeMirror(root: string): void {
  const staging = tempDir('hardway-runtime-');
  const containerd = 'containerd/containerd/releases/download/v2.2.9';
  mkdirSync(join(staging, 'containerd', 'bin'), { recursive: true });
  for (const name of ['containerd', 'containerd-shim-runc-v2', 'ctr']) copyFileSync(binary(name), join(staging, 'containerd', 'bin', name));
  mkdirSync(join(root, containerd), { recursive: true });
  const tarball = join(root, containerd, 'containerd-2.2.9-linux-amd64.tar.gz');
  expect(spawnSync('tar', ['-czf', tarball, '-C', join(staging, 'containerd'), 'bin']).status).toBe(0);
  writeFileSync(`${tarball}.sha256sum`, `${sha256(tarball)}  containerd-2.2.9-linux-amd64.tar.gz\n`);
  const runc = 'opencontainers/runc/releases/download/v1.3.7';
  mkdirSync(join(root, runc), { recursive: true });
  copyFileSync(binary('runc'), join(root, runc, 'runc.amd64'));
  writeFileSync(join(root, runc, 'runc.sha256sum'), `${'1'.repeat(64)}  runc.arm64\n${sha256(join(root, runc, 'runc.amd64'))}  runc.amd64\n`);
  const cni = 'containernetworking/plugins/releases/download/v1.9.1';
  mkdirSync(join(staging, 'cni'));
  for (const name of ['bridge', 'host-local', 'loopback', 'portmap']) copyFileSync(binary(name), join(staging, 'cni', name));
  mkdirSync(join(root, cni), { recursive: true });
  const plugins = join(root, cni, 'cni-plugins-linux-amd64-v1.9.1.tgz');
  expect(spawnSync('tar', ['-czf', plugins, '-C', join(staging, 'cni'), '.']).status).toBe(0);
  writeFileSync(`${plugins}.sha256`, `${sha256(plugins)}  cni-plugins-linux-amd64-v1.9.1.tgz\n`);
}

function serve(root: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = join(root, decodeURIComponent(new URL(request.url!, 'http://x').pathname));
    if (!path.startsWith(root) || !existsSync(path)) {
      response.writeHead(404).end();
      return;
    }
    const body = readFileSync(path);
    response.writeHead(200, { 'content-length': body.length }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('artifacts from a mirror with the official layout', () => {
  let good: Server;
  const url = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let goodRoot: string;

  beforeAll(async () => {
    await ensureArtifacts();
    goodRoot = tempDir('hardway-mirror-');
    buildMirror(goodRoot);
    buildRuntimeMirror(goodRoot);
    good = await serve(goodRoot);
  });

  afterAll(() => {
    good?.close();
  });
  afterEach(() => {
    delete process.env.HARDWAY_CACHE;
  });

  it('lands files matching their pins, verified, in an empty cache', async () => {
    const cache = tempDir('hardway-cache-');
    const env = { HARDWAY_CACHE: cache };
    process.env.HARDWAY_CACHE = cache;
    const components = pinnedTo(goodRoot, ['kubernetes', 'etcd']);
    await obtainAll(components, { sources: ['mirror'], mirror: url(good) });
    const list = lab(['artifacts', 'list'], env);
    expect(list.stdout).toMatch(/kubernetes +v1\.34\.4 +cached \(from mirror\)/);
    expect(list.stdout).toMatch(/kubernetes +v1\.35\.8 +cached \(from mirror\)/);
    expect(list.stdout).toMatch(/etcd +v3\.6\.8 +cached \(from mirror\)/);
    const verdicts = await verifyArtifacts(components, hostPlatform());
    expect(verdicts.filter(({ status }) => status !== 'ok')).toEqual([]);
    expect(verdicts).toHaveLength(15);
    const where = lab(['artifacts', 'where', 'etcdctl'], env).stdout.trim();
    expect(sha256(where)).toBe(sha256(binary('etcdctl')));
  });

  it('lands the container runtime from its release layouts (tarball, bare binary, ./-archive), version-checked', async () => {
    const cache = tempDir('hardway-cache-');
    const env = { HARDWAY_CACHE: cache };
    process.env.HARDWAY_CACHE = cache;
    const components = pinnedTo(goodRoot, ['containerd', 'runc', 'cni-plugins']);
    await obtainAll(components, { sources: ['mirror'], mirror: url(good) });
    const list = lab(['artifacts', 'list'], env).stdout;
    expect(list).toMatch(/containerd +v2\.2\.9 +cached \(from mirror\)/);
    expect(list).toMatch(/runc +v1\.3\.7 +cached \(from mirror\)/);
    expect(list).toMatch(/cni-plugins +v1\.9\.1 +cached \(from mirror\)/);
    expect((await verifyArtifacts(components, hostPlatform())).filter(({ status }) => status !== 'ok')).toEqual([]);
    expect(sha256(lab(['artifacts', 'where', 'containerd-shim-runc-v2'], env).stdout.trim())).toBe(sha256(binary('containerd-shim-runc-v2')));
  });

  it('refuses, by the manifest\'s real pins, files that are not upstream\'s though the mirror\'s checksum files match them, and caches nothing', async () => {
    const cache = tempDir('hardway-cache-');
    const fetched = await labAsync(['artifacts', 'fetch', 'etcd', '--source', 'mirror', '--mirror', url(good)], { HARDWAY_CACHE: cache });
    expect(fetched.code).toBe(1);
    const pin = pinOf(loadManifest().find((c) => c.name === 'etcd')!, hostPlatform(), `etcd-v3.6.8-linux-${hostPlatform().arch}.tar.gz`)!;
    expect(fetched.stderr).toContain(`etcd-v3.6.8-linux-${hostPlatform().arch}.tar.gz from ${url(good)}/etcd-io/etcd/releases/download/v3.6.8/etcd-v3.6.8-linux-${hostPlatform().arch}.tar.gz is not the file etcd v3.6.8 published: expected SHA-256 ${pin}`);
    expect(fetched.stderr).toMatch(/nothing was cached/);
    expect(fetched.stderr).not.toMatch(/\n\s+at /);
    const folders = existsSync(join(cache, 'artifacts')) ? readdirSync(join(cache, 'artifacts')).filter((f) => !f.startsWith('.')) : [];
    expect(folders).toEqual([]);
    expect(lab(['artifacts', 'list'], { HARDWAY_CACHE: cache }).stdout).toMatch(/etcd +v3\.6\.8 +not cached/);
  });

  it('refuses files the manifest has no pin for, naming them and how to pin one', async () => {
    const cache = tempDir('hardway-cache-');
    const fetched = await labAsync(['artifacts', 'fetch', 'kubernetes', '--source', 'mirror', '--mirror', url(good)], { HARDWAY_CACHE: cache });
    expect(fetched.code).toBe(1);
    expect(fetched.stderr).toMatch(/kubernetes v1\.34\.4: kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy \(linux-\w+\) have no pinned SHA-256 in the manifest/);
    expect(fetched.stderr).toMatch(/src\/artifacts\/manifest\.yaml/);
    expect(lab(['artifacts', 'list'], { HARDWAY_CACHE: cache }).stdout).toMatch(/kubernetes +v1\.34\.4 +not cached/);
  });

  it('takes binaries from a local folder, checking their version', () => {
    const cache = tempDir('hardway-cache-');
    const folder = tempDir('hardway-bins-');
    for (const name of ['etcd', 'etcdctl', 'etcdutl']) copyFileSync(binary(name), join(folder, name));
    const fetched = lab(['artifacts', 'fetch', 'etcd', '--source', 'local', '--bin-dir', folder], { HARDWAY_CACHE: cache });
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toMatch(/etcd v3\.6\.8: ready \(from local\)/);

    const wrong = tempDir('hardway-bins-wrong-');
    copyFileSync(binary('coredns'), join(wrong, 'etcd'));
    copyFileSync(binary('etcdctl'), join(wrong, 'etcdctl'));
    copyFileSync(binary('etcdutl'), join(wrong, 'etcdutl'));
    const rejected = lab(['artifacts', 'fetch', 'etcd', '--force', '--source', 'local', '--bin-dir', wrong], { HARDWAY_CACHE: cache });
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/not etcd Version: 3\.6\.8/);
  });

  it('bundles the cache for an offline room and imports it elsewhere, refusing a damaged bundle', () => {
    const bundle = join(tempDir('hardway-bundle-'), 'room.tar.gz');
    const made = lab(['artifacts', 'bundle', bundle]);
    expect(made.code, made.stderr).toBe(0);
    const cache = tempDir('hardway-cache-');
    const imported = lab(['artifacts', 'import', bundle], { HARDWAY_CACHE: cache });
    expect(imported.code, imported.stderr).toBe(0);
    const verify = lab(['artifacts', 'verify'], { HARDWAY_CACHE: cache });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^ok +kubernetes v1\.35\.8 kube-apiserver: /m);

    const damaged = bundle.replace('room', 'damaged');
    const bytes = readFileSync(bundle);
    bytes[bytes.length - 100]! ^= 0xff;
    writeFileSync(damaged, bytes);
    const refused = lab(['artifacts', 'import', damaged], { HARDWAY_CACHE: tempDir('hardway-cache-') });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  }, 300_000);
});

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryPath } from '../../../src/artifacts/cache.ts';
import { hostPlatform, loadManifest } from '../../../src/artifacts/manifest.ts';
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

/** Lays out real binaries as the upstream releases publish them, under a mirror root. */
function buildMirror(root: string, corrupt: string[] = []): void {
  const put = (path: string, from: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    copyFileSync(from, join(root, path));
  };
  // Both pinned Kubernetes versions, each under its own release path.
  for (const kubernetes of loadManifest().filter((c) => c.name === 'kubernetes')) {
    for (const name of kubernetes.binaries) {
      const path = `release/${kubernetes.version}/bin/linux/amd64/${name}`;
      put(path, binaryPath(kubernetes, name, hostPlatform()));
      const sum = corrupt.includes(name) ? '0'.repeat(64) : sha256(join(root, path));
      writeFileSync(join(root, `${path}.sha256`), `${sum}\n`);
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
  let bad: Server;
  const url = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  beforeAll(async () => {
    await ensureArtifacts();
    const goodRoot = tempDir('hardway-mirror-');
    const badRoot = tempDir('hardway-mirror-bad-');
    buildMirror(goodRoot);
    buildRuntimeMirror(goodRoot);
    buildMirror(badRoot, ['kube-scheduler']);
    [good, bad] = await Promise.all([serve(goodRoot), serve(badRoot)]);
  });

  afterAll(() => {
    good?.close();
    bad?.close();
  });

  it('lands good files, verified, in an empty cache', async () => {
    const cache = tempDir('hardway-cache-');
    const env = { HARDWAY_CACHE: cache };
    const fetched = await labAsync(['artifacts', 'fetch', 'kubernetes', 'etcd', '--source', 'mirror', '--mirror', url(good)], env);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toMatch(/kubernetes v1\.34\.4: ready \(from mirror\)/);
    expect(fetched.stdout).toMatch(/kubernetes v1\.35\.8: ready \(from mirror\)/);
    expect(fetched.stdout).toMatch(/etcd v3\.6\.8: ready \(from mirror\)/);
    const list = lab(['artifacts', 'list'], env);
    expect(list.stdout).toMatch(/kubernetes +v1\.34\.4 +cached \(from mirror\)/);
    expect(list.stdout).toMatch(/kubernetes +v1\.35\.8 +cached \(from mirror\)/);
    const verify = lab(['artifacts', 'verify'], env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const where = lab(['artifacts', 'where', 'etcdctl'], env).stdout.trim();
    expect(sha256(where)).toBe(sha256(binary('etcdctl')));
  });

  it('lands the container runtime from its release layouts (tarball, bare binary with a sums list, ./-archive), version-checked', async () => {
    const cache = tempDir('hardway-cache-');
    const env = { HARDWAY_CACHE: cache };
    const fetched = await labAsync(['artifacts', 'fetch', 'containerd', 'runc', 'cni-plugins', '--source', 'mirror', '--mirror', url(good)], env);
    expect(fetched.code, fetched.stderr).toBe(0);
    for (const line of [/containerd v2\.2\.9: ready \(from mirror\)/, /runc v1\.3\.7: ready \(from mirror\)/, /cni-plugins v1\.9\.1: ready \(from mirror\)/]) expect(fetched.stdout).toMatch(line);
    const list = lab(['artifacts', 'list'], env).stdout;
    expect(list).toMatch(/containerd +v2\.2\.9 +cached \(from mirror\)/);
    expect(list).toMatch(/cni-plugins +v1\.9\.1 +cached \(from mirror\)/);
    expect(lab(['artifacts', 'verify', 'containerd', 'runc', 'cni-plugins'], env).code).toBe(0);
    expect(sha256(lab(['artifacts', 'where', 'containerd-shim-runc-v2'], env).stdout.trim())).toBe(sha256(binary('containerd-shim-runc-v2')));
  });

  it('rejects a file whose checksum does not match, says which, and caches nothing', async () => {
    const cache = tempDir('hardway-cache-');
    const fetched = await labAsync(['artifacts', 'fetch', 'kubernetes', '--source', 'mirror', '--mirror', url(bad)], { HARDWAY_CACHE: cache });
    expect(fetched.code).toBe(1);
    expect(fetched.stderr).toMatch(/checksum mismatch for kube-scheduler/);
    expect(fetched.stderr).toMatch(/nothing was cached/);
    expect(fetched.stderr).not.toMatch(/\n\s+at /);
    const folders = existsSync(join(cache, 'artifacts')) ? readdirSync(join(cache, 'artifacts')).filter((f) => !f.startsWith('.')) : [];
    expect(folders).toEqual([]);
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
    expect(lab(['artifacts', 'verify'], { HARDWAY_CACHE: cache }).stdout).toMatch(/✓ kubernetes v1\.35\.8/);

    const damaged = bundle.replace('room', 'damaged');
    const bytes = readFileSync(bundle);
    bytes[bytes.length - 100]! ^= 0xff;
    writeFileSync(damaged, bytes);
    const refused = lab(['artifacts', 'import', damaged], { HARDWAY_CACHE: tempDir('hardway-cache-') });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  }, 300_000);
});

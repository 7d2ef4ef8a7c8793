import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { artifactsRoot, binaryPath, componentDir, isCached, readCachedIndex, RELEASE_INDEX_FILE } from '../../../src/artifacts/cache.ts';
import type { Component, Platform } from '../../../src/artifacts/manifest.ts';
import { obtain } from '../../../src/artifacts/obtain.ts';
import { verifyArtifacts } from '../../../src/artifacts/verify.ts';

/*
 * A mirror that swaps a file and serves a checksum file matching the swap: the pins in the manifest
 * are the only thing that counts. The real pins are for real upstream files no test downloads, so
 * these components are fixtures laid out as Kubernetes (bare files) and etcd (an archive) publish,
 * pinned to the test's own honest files.
 */

const amd64: Platform = { os: 'linux', arch: 'amd64' };
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const script = (says: string) => `#!/bin/sh\necho ${says}\n`;

const made: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};

function put(root: string, path: string, data: string | Buffer): string {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), data);
  return join(root, path);
}

function archive(root: string, path: string, members: Record<string, string>): Buffer {
  const staging = tempDir('hardway-archive-');
  for (const [name, text] of Object.entries(members)) put(staging, name, text);
  mkdirSync(dirname(join(root, path)), { recursive: true });
  expect(spawnSync('tar', ['-czf', join(root, path), '-C', staging, ...new Set(Object.keys(members).map((name) => name.split('/')[0]!))]).status).toBe(0);
  return readFileSync(join(root, path));
}

const KUBE_PATH = 'release/v1.0.0/bin/linux/amd64';
const ARCHIVE = 'thing-v3.0.0-linux-amd64.tar.gz';
const ARCHIVE_PATH = `releases/download/v3.0.0/${ARCHIVE}`;
const honestMembers = { 'thing-v3.0.0-linux-amd64/thing': script('honest thing'), 'thing-v3.0.0-linux-amd64/thingctl': script('honest thingctl') };

/** Lays a release out under root: honest files, or with one of each swapped, each with a checksum file that matches what it serves. */
function layOut(root: string, swapped: boolean): { kubeApi: string; kubeLet: string; archive: Buffer } {
  const kubeApi = script('honest kube-api');
  const kubeLet = swapped ? script('swapped kube-let') : script('honest kube-let');
  put(root, `${KUBE_PATH}/kube-api`, kubeApi);
  put(root, `${KUBE_PATH}/kube-let`, kubeLet);
  put(root, `${KUBE_PATH}/kube-api.sha256`, `${sha256(kubeApi)}\n`);
  put(root, `${KUBE_PATH}/kube-let.sha256`, `${sha256(kubeLet)}\n`);
  const members = swapped ? { ...honestMembers, 'thing-v3.0.0-linux-amd64/thingctl': script('swapped thingctl') } : honestMembers;
  const bytes = archive(root, ARCHIVE_PATH, members);
  put(root, 'releases/download/v3.0.0/SHA256SUMS', `${sha256(bytes)}  ${ARCHIVE}\n`);
  return { kubeApi, kubeLet, archive: bytes };
}

const honestRoot = tempDir('hardway-honest-');
const honest = layOut(honestRoot, false);
const swappedRoot = tempDir('hardway-swapped-');
const swapped = layOut(swappedRoot, true);

const bareComponent: Component = {
  name: 'fixture-kube',
  version: 'v1.0.0',
  binaries: ['kube-api', 'kube-let'],
  official: { url: 'https://dl.example.invalid/release/{version}/bin/linux/{arch}/{binary}' },
  sha256: { 'linux-amd64': { 'kube-api': sha256(honest.kubeApi), 'kube-let': sha256(honest.kubeLet) } },
};
const archiveComponent: Component = {
  name: 'fixture-thing',
  version: 'v3.0.0',
  binaries: ['thing', 'thingctl'],
  official: { url: 'https://github.example.invalid/releases/download/{version}/thing-{version}-linux-{arch}.tar.gz', member: 'thing-{version}-linux-{arch}/{binary}' },
  sha256: { 'linux-amd64': { [ARCHIVE]: sha256(honest.archive) } },
};

function serve(root: string, log: string[]): Promise<Server> {
  const server = createServer((request, response) => {
    const path = join(root, decodeURIComponent(new URL(request.url!, 'http://x').pathname));
    log.push(new URL(request.url!, 'http://x').pathname);
    if (!path.startsWith(root) || !existsSync(path)) return void response.writeHead(404).end();
    const body = readFileSync(path);
    response.writeHead(200, { 'content-length': body.length }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('a mirror is trusted for nothing: the manifest pins each release file', () => {
  const honestLog: string[] = [];
  const swappedLog: string[] = [];
  let honestServer: Server;
  let swappedServer: Server;
  const url = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let cache: string;

  beforeAll(async () => {
    [honestServer, swappedServer] = await Promise.all([serve(honestRoot, honestLog), serve(swappedRoot, swappedLog)]);
  });
  afterAll(() => {
    honestServer?.close();
    swappedServer?.close();
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    cache = tempDir('hardway-cache-');
    process.env.HARDWAY_CACHE = cache;
  });
  afterEach(() => {
    delete process.env.HARDWAY_CACHE;
  });

  /** Everything in the artifacts folder but empty folders: what a refused fetch must not leave. */
  const leftovers = (): string[] => {
    const root = artifactsRoot();
    if (!existsSync(root)) return [];
    return readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => !entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name));
  };

  it('refuses a swapped file that the mirror\'s own checksum file vouches for, says which and what to try, and caches nothing', async () => {
    const mirror = url(swappedServer);
    const refused = obtain(bareComponent, { sources: ['mirror'], mirror, platform: amd64 });
    await expect(refused).rejects.toThrow(
      `kube-let from ${mirror}/${KUBE_PATH}/kube-let is not the file fixture-kube v1.0.0 published: expected SHA-256 ${sha256(honest.kubeLet)} (the manifest's pin), got ${sha256(swapped.kubeLet)}; it was deleted and nothing was cached`,
    );
    await expect(refused).rejects.toThrow(/its own checksum files do not count/);
    expect(existsSync(componentDir(bareComponent, amd64))).toBe(false);
    expect(leftovers()).toEqual([]);
    expect(swappedLog.filter((path) => path.endsWith('.sha256'))).toEqual([]);
  });

  it('refuses a swapped archive with a matching SHA256SUMS beside it, extracting nothing into the cache', async () => {
    const mirror = url(swappedServer);
    await expect(obtain(archiveComponent, { sources: ['mirror'], mirror, platform: amd64 })).rejects.toThrow(
      `${ARCHIVE} from ${mirror}/${ARCHIVE_PATH} is not the file fixture-thing v3.0.0 published: expected SHA-256 ${sha256(honest.archive)} (the manifest's pin), got ${sha256(swapped.archive)}`,
    );
    expect(isCached(archiveComponent, amd64)).toBe(false);
    expect(leftovers()).toEqual([]);
    expect(swappedLog).not.toContain('/releases/download/v3.0.0/SHA256SUMS');
  });

  it('lands the honest files, recording the pinned release files, and verify passes them', async () => {
    const mirror = url(honestServer);
    expect(await obtain(bareComponent, { sources: ['mirror'], mirror, platform: amd64 })).toBe('mirror');
    expect(await obtain(archiveComponent, { sources: ['mirror'], mirror, platform: amd64 })).toBe('mirror');
    expect(readFileSync(binaryPath(bareComponent, 'kube-let', amd64), 'utf8')).toBe(honest.kubeLet);
    expect(readFileSync(binaryPath(archiveComponent, 'thingctl', amd64), 'utf8')).toBe(honestMembers['thing-v3.0.0-linux-amd64/thingctl']);
    expect(readCachedIndex(archiveComponent, amd64, RELEASE_INDEX_FILE)).toEqual(new Map([[ARCHIVE, sha256(honest.archive)]]));
    const verdicts = await verifyArtifacts([bareComponent, archiveComponent], amd64);
    expect(verdicts.map(({ binary, status }) => `${binary} ${status}`)).toEqual(['kube-api ok', 'kube-let ok', 'thing ok', 'thingctl ok']);
    // Only the finished binaries stay: the downloads and what was unpacked from them are gone.
    expect(leftovers().every((path) => path.startsWith(componentDir(bareComponent, amd64)) || path.startsWith(componentDir(archiveComponent, amd64)))).toBe(true);
  });

  it('falls through to the next source when the mirror is refused', async () => {
    const folder = tempDir('hardway-bins-');
    for (const [name, text] of [['kube-api', honest.kubeApi], ['kube-let', honest.kubeLet]] as const) chmodSync(put(folder, name, text), 0o755);
    expect(await obtain(bareComponent, { sources: ['mirror', 'local'], mirror: url(swappedServer), binDir: folder, platform: amd64 })).toBe('local');
    expect(readFileSync(binaryPath(bareComponent, 'kube-let', amd64), 'utf8')).toBe(honest.kubeLet);
  });
});

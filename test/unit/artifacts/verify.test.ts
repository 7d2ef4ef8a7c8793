import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { binaryPath, landComponent, type SourceName } from '../../../src/artifacts/cache.ts';
import type { Component, Platform } from '../../../src/artifacts/manifest.ts';
import { hasMismatch, verdictLine, verifyArtifacts, type FileVerdict } from '../../../src/artifacts/verify.ts';

const amd64: Platform = { os: 'linux', arch: 'amd64' };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A bare release file per binary, like Kubernetes publishes. */
const bare = (sha?: Record<string, string>): Component => ({
  name: 'fixture-bare',
  version: 'v1.0.0',
  binaries: ['alpha', 'beta'],
  official: { url: 'https://releases.example.invalid/{version}/{arch}/{binary}' },
  sha256: sha && { 'linux-amd64': sha },
});

/** Binaries inside one release archive, like etcd publishes. */
const archived = (pin?: string): Component => ({
  name: 'fixture-archive',
  version: 'v2.0.0',
  binaries: ['gamma'],
  official: { url: 'https://releases.example.invalid/{version}/bundle-{arch}.tar.gz', member: 'bundle/{binary}' },
  sha256: pin ? { 'linux-amd64': { 'bundle-amd64.tar.gz': pin } } : undefined,
});

describe('lab artifacts verify', () => {
  let cache: string;
  let files: string;
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'hardway-verify-'));
    files = join(cache, 'obtained');
    mkdirSync(files);
    process.env.HARDWAY_CACHE = cache;
  });
  afterEach(() => {
    delete process.env.HARDWAY_CACHE;
    rmSync(cache, { recursive: true, force: true });
  });

  /** Lands the component's binaries, each holding its own name, as `origin` would. */
  async function land(component: Component, origin: SourceName, release?: Map<string, string>): Promise<void> {
    const paths = new Map(component.binaries.map((binary) => [binary, join(files, binary)] as const));
    for (const [binary, path] of paths) writeFileSync(path, binary);
    await landComponent(component, amd64, paths, origin, release);
  }
  const only = (verdicts: FileVerdict[], binary: string) => verdicts.find((verdict) => verdict.binary === binary)!;

  it('passes a downloaded file that is its pin, and names a changed one with expected and got', async () => {
    const component = bare({ alpha: sha256('alpha'), beta: sha256('beta') });
    await land(component, 'official');
    const clean = await verifyArtifacts([component], amd64);
    expect(clean.map(({ status }) => status)).toEqual(['ok', 'ok']);
    expect(hasMismatch(clean)).toBe(false);

    appendFileSync(binaryPath(component, 'beta', amd64), 'tampered');
    const verdicts = await verifyArtifacts([component], amd64);
    expect(only(verdicts, 'alpha').status).toBe('ok');
    expect(only(verdicts, 'beta')).toMatchObject({ status: 'mismatch', against: 'the pinned SHA-256 of beta', expected: sha256('beta'), got: sha256('betatampered') });
    expect(hasMismatch(verdicts)).toBe(true);
    expect(verdictLine(only(verdicts, 'beta'))).toBe(`MISMATCH    fixture-bare v1.0.0 beta: the pinned SHA-256 of beta: expected ${sha256('beta')}, got ${sha256('betatampered')}`);
  });

  it('holds a downloaded file to the pin the manifest has now, not to the one it landed with', async () => {
    await land(bare({ alpha: sha256('alpha'), beta: sha256('beta') }), 'mirror');
    const repinned = bare({ alpha: sha256('another alpha'), beta: sha256('beta') });
    expect(only(await verifyArtifacts([repinned], amd64), 'alpha')).toMatchObject({ status: 'mismatch', expected: sha256('another alpha'), got: sha256('alpha') });
  });

  it('says "not pinned" for a downloaded file the manifest has no pin for, and does not fail for it', async () => {
    await land(bare({ alpha: sha256('alpha'), beta: sha256('beta') }), 'official');
    const verdicts = await verifyArtifacts([bare({ alpha: sha256('alpha') })], amd64);
    expect(only(verdicts, 'beta')).toMatchObject({ status: 'not-pinned', against: 'downloaded as beta, which the manifest has no SHA-256 for' });
    expect(verdictLine(only(verdicts, 'beta'))).toMatch(/^not pinned  fixture-bare v1\.0\.0 beta: /);
    expect(hasMismatch(verdicts)).toBe(false);
  });

  it('says "missing" for each binary of a component not in the cache, and does not fail for it', async () => {
    const verdicts = await verifyArtifacts([bare()], amd64);
    expect(verdicts).toEqual([
      { component: 'fixture-bare v1.0.0', binary: 'alpha', status: 'missing', against: 'not in the cache' },
      { component: 'fixture-bare v1.0.0', binary: 'beta', status: 'missing', against: 'not in the cache' },
    ]);
    expect(hasMismatch(verdicts)).toBe(false);
  });

  it('fails for a file gone from a component that is in the cache', async () => {
    const component = bare({ alpha: sha256('alpha'), beta: sha256('beta') });
    await land(component, 'official');
    unlinkSync(binaryPath(component, 'alpha', amd64));
    const verdicts = await verifyArtifacts([component], amd64);
    expect(only(verdicts, 'alpha')).toMatchObject({ status: 'mismatch', against: 'the file is gone from the cache', expected: sha256('alpha') });
    expect(verdictLine(only(verdicts, 'alpha'))).toMatch(/got no file$/);
  });

  it('checks a binary built from source against the SHA-256 recorded when it was built', async () => {
    const component = bare();
    await land(component, 'source');
    expect((await verifyArtifacts([component], amd64)).map(({ status }) => status)).toEqual(['ok', 'ok']);
    writeFileSync(binaryPath(component, 'alpha', amd64), 'rebuilt behind the cache');
    expect(only(await verifyArtifacts([component], amd64), 'alpha')).toMatchObject({
      status: 'mismatch',
      against: 'its SHA-256 recorded when it was built from source',
      expected: sha256('alpha'),
      got: sha256('rebuilt behind the cache'),
    });
  });

  it('checks a binary taken from a release archive through the archive pin recorded when it landed', async () => {
    const pin = sha256('the archive');
    await land(archived(pin), 'official', new Map([['bundle-amd64.tar.gz', pin]]));
    expect(only(await verifyArtifacts([archived(pin)], amd64), 'gamma')).toMatchObject({ status: 'ok', against: 'its SHA-256 when taken from bundle-amd64.tar.gz, which matched its pin' });
    expect(only(await verifyArtifacts([archived(sha256('a newer archive'))], amd64), 'gamma')).toMatchObject({ status: 'mismatch', expected: sha256('a newer archive'), got: pin });
    writeFileSync(binaryPath(archived(pin), 'gamma', amd64), 'swapped');
    expect(only(await verifyArtifacts([archived(pin)], amd64), 'gamma')).toMatchObject({ status: 'mismatch', expected: sha256('gamma'), got: sha256('swapped') });
  });

  it('says "not pinned" for a binary taken from an archive before pins were recorded', async () => {
    await land(archived(sha256('the archive')), 'mirror');
    expect(only(await verifyArtifacts([archived(sha256('the archive'))], amd64), 'gamma')).toMatchObject({ status: 'not-pinned', against: expect.stringMatching(/before pins were recorded .*--force/) });
  });
});

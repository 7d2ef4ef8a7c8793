import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expand, findComponent, hostPlatform, loadManifest, sourceBuildPackages } from '../../../src/artifacts/manifest.ts';
import { buildArgs, goEnvironment, packageOf, requireCgo, wrapperGoMod } from '../../../src/artifacts/sources/gobuild.ts';

const component = (name: string) => {
  const found = loadManifest().find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} in the manifest`);
  return found;
};

describe('the pinned container runtime', () => {
  it('pins containerd 2, runc 1.3+ and the CNI plugins 1.6+ beside Kubernetes', () => {
    expect(component('containerd').version).toMatch(/^v2\./);
    expect(component('containerd').binaries).toEqual(expect.arrayContaining(['containerd', 'containerd-shim-runc-v2', 'ctr']));
    const [, minor] = component('runc').version.match(/^v1\.(\d+)\./)!;
    expect(Number(minor)).toBeGreaterThanOrEqual(3);
    const [, cniMinor] = component('cni-plugins').version.match(/^v1\.(\d+)\./)!;
    expect(Number(cniMinor)).toBeGreaterThanOrEqual(6);
    expect(component('cni-plugins').binaries).toEqual(expect.arrayContaining(['bridge', 'host-local', 'loopback']));
    expect(findComponent('containerd-shim-runc-v2')?.name).toBe('containerd');
  });

  it('every component can be obtained four ways: release files, and a Go package for each binary', () => {
    for (const c of loadManifest().filter((c) => !c.optional)) {
      expect(c.official.url, c.name).toMatch(/^https:\/\//);
      expect(c.source, c.name).toBeDefined();
      for (const binary of c.binaries) expect(packageOf(c.source!, binary), `${c.name}/${binary}`).toMatch(/^[\w.-]+\.[a-z]+\//);
      expect(c.versionCheck, c.name).toBeDefined();
    }
  });

  it('names the official release files as upstream publishes them', () => {
    const values = (c: string, binary?: string) => ({ version: component(c).version, arch: 'amd64', binary });
    expect(expand(component('containerd').official.url, values('containerd'))).toBe('https://github.com/containerd/containerd/releases/download/v2.2.9/containerd-2.2.9-linux-amd64.tar.gz');
    expect(expand(component('containerd').official.member!, values('containerd', 'ctr'))).toBe('bin/ctr');
    expect(expand(component('runc').official.url, values('runc'))).toBe('https://github.com/opencontainers/runc/releases/download/v1.3.7/runc.amd64');
    expect(expand(component('cni-plugins').official.url, values('cni-plugins'))).toBe('https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz');
  });

  it('stamps the versions the upstream builds stamp', () => {
    const containerd = component('containerd');
    const args = buildArgs(containerd, containerd.source!, 'containerd', '/tmp/out').join(' ');
    expect(args).toContain('-X github.com/containerd/containerd/v2/version.Version=v2.2.9');
    const cni = component('cni-plugins');
    expect(buildArgs(cni, cni.source!, 'bridge', '/tmp/out').join(' ')).toContain('buildversion.BuildVersion=v1.9.1');
    expect(wrapperGoMod(component('runc'), component('runc').source!)).toContain('github.com/opencontainers/runc v1.3.7');
  });

  it('builds runc with cgo and libseccomp, statically, and only runc', () => {
    const runc = component('runc');
    expect(runc.source?.cgo).toBe(true);
    expect(runc.source?.tags).toContain('seccomp');
    expect(goEnvironment(hostPlatform(), true).CGO_ENABLED).toBe('1');
    expect(goEnvironment(hostPlatform()).CGO_ENABLED).toBe('0');
    expect(loadManifest().filter((c) => c.source?.cgo).map((c) => c.name)).toEqual(['runc']);
    expect(sourceBuildPackages()).toEqual(expect.arrayContaining(['gcc', 'libseccomp-dev']));
  });

  it('says what a cgo build lacks and how to get it, before running go', () => {
    const runc = component('runc');
    const empty = mkdtempSync(join(tmpdir(), 'hardway-include-'));
    expect(() => requireCgo(runc, runc.source!, hostPlatform(), empty)).toThrow(/needs .*seccomp\.h/);
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'seccomp.h'), '');
    const other = hostPlatform().arch === 'amd64' ? 'arm64' : 'amd64';
    expect(() => requireCgo(runc, runc.source!, { os: 'linux', arch: other }, empty)).toThrow(/cannot be built for/);
  });
});

describe('two Kubernetes minors: the course\'s and its upgrade chapter\'s', () => {
  const kubernetes = () => loadManifest().filter((c) => c.name === 'kubernetes');

  it('pins one minor version apart, the course\'s first, and a name asks for both', async () => {
    const [course, upgrade] = kubernetes().map((c) => c.version);
    expect(kubernetes()).toHaveLength(2);
    const minor = (version: string) => Number(version.split('.')[1]);
    expect(minor(upgrade!) - minor(course!)).toBe(1);
    expect(findComponent('kubectl')?.version).toBe(course);
    const { manifestComponents } = await import('../../../src/artifacts/obtain.ts');
    expect(manifestComponents(['kubernetes']).map((c) => c.version)).toEqual([course, upgrade]);
    expect(manifestComponents(['kubelet', 'etcd']).map((c) => c.name)).toEqual(['kubernetes', 'kubernetes', 'etcd']);
  });

  it('builds each from its own release: staging modules at v0.<minor>.<patch>, its version stamped, its own Go line', () => {
    for (const k of kubernetes()) {
      const [, minor, patch] = k.version.split('.');
      const goMod = wrapperGoMod(k, k.source!);
      expect(goMod).toContain(`k8s.io/kubernetes ${k.version}`);
      expect(goMod).toContain(`k8s.io/client-go => k8s.io/client-go v0.${minor}.${patch}`);
      expect(goMod).not.toMatch(/\{\w+\}/);
      const args = buildArgs(k, k.source!, 'kubelet', '/tmp/out').join(' ');
      expect(args).toContain(`k8s.io/component-base/version.gitVersion=${k.version}`);
      expect(args).toContain(`k8s.io/component-base/version.gitMinor=${minor}`);
    }
    const [course, upgrade] = kubernetes();
    expect(course!.source!.go).not.toBe(upgrade!.source!.go);
    expect(course!.source!.tags).toEqual(upgrade!.source!.tags);
  });

  it('expands {minor} and {staging} from any version', () => {
    expect(expand('{minor} {staging} {bare}', { version: 'v1.34.4', arch: 'amd64' })).toBe('34 v0.34.4 1.34.4');
  });
});

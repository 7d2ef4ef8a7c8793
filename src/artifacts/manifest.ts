import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { LabError } from '../util/errors.ts';
import { fromPackage } from '../util/package-root.ts';

export interface OfficialSource {
  url: string;
  /** For archives: the path of the binary inside. */
  member?: string;
  /** A file holding the SHA-256 of `url` ("hex" or "hex  name"). */
  checksum?: string;
  /** A SHA256SUMS-style list naming the file of `url`. */
  checksumList?: string;
}

export interface GoSource {
  require: Record<string, string>;
  replaceAll?: { version: string; modules: string[] };
  go: string;
  godebug?: string;
  package?: string;
  packages?: Record<string, string>;
  tags?: string[];
  ldflags: string[];
  /** Built with cgo (C libraries linked in): only for the host's own architecture. */
  cgo?: boolean;
  /** What a cgo build needs on the host: C headers (under /usr/include) and the Debian packages giving them. */
  needs?: { headers: string[]; packages: string[] };
}

/**
 * Which binaries a component is among: the course's (the default: a first `lab up` builds them in
 * the background) or the upgrade chapter's (built when a lab first needs them).
 */
export type ArtifactSet = 'course' | 'upgrade';
export const ARTIFACT_SETS: ArtifactSet[] = ['course', 'upgrade'];

export interface Component {
  name: string;
  version: string;
  binaries: string[];
  optional?: boolean;
  /** The course's when not given. */
  set?: ArtifactSet;
  official: OfficialSource;
  source?: GoSource;
  versionCheck?: { binary: string; args: string[]; expect: string };
}

export interface Platform {
  os: 'linux';
  arch: 'amd64' | 'arm64';
}

export const hostPlatform = (): Platform => ({ os: 'linux', arch: process.arch === 'arm64' ? 'arm64' : 'amd64' });
export const platformName = (platform: Platform): string => `${platform.os}-${platform.arch}`;

let cached: Component[] | undefined;

export function loadManifest(): Component[] {
  // merge: the second Kubernetes entry takes the first one's source with `<<:` and changes its Go lines.
  cached ??= (parse(readFileSync(fromPackage('src', 'artifacts', 'manifest.yaml'), 'utf8'), { merge: true }) as { components: Component[] }).components;
  return cached;
}

export const setOf = (component: Component): ArtifactSet => component.set ?? 'course';

/** `course,upgrade` as sets, or a usage error naming them. */
export function parseSets(text: string): ArtifactSet[] {
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !ARTIFACT_SETS.includes(name as ArtifactSet));
  if (unknown.length > 0 || names.length === 0) throw new LabError(`unknown set of binaries "${unknown.join(',') || text}"`, `use a comma-separated list of: ${ARTIFACT_SETS.join(', ')}`, 2);
  return names as ArtifactSet[];
}

/** The components a lab cannot do without in these sets (optional ones, such as crictl, are left out). */
export function componentsOfSets(sets: ArtifactSet[]): Component[] {
  return loadManifest().filter((component) => !component.optional && sets.includes(setOf(component)));
}

/** How a component is named to a learner: "kubernetes v1.34.4". */
export const componentLabel = (component: Component): string => `${component.name} ${component.version}`;

/** Debian packages that building every component from source needs beside Go (C compiler, headers). */
export function sourceBuildPackages(): string[] {
  return [...new Set(loadManifest().flatMap((component) => component.source?.needs?.packages ?? []))];
}

/** The first entry of that name or binary: for Kubernetes, the version the course builds its cluster on. */
export function findComponent(name: string): Component | undefined {
  return loadManifest().find((component) => component.name === name || component.binaries.includes(name));
}

/** Fills {version}, {bare}, {minor}, {staging}, {arch}, {binary}, {url} in a manifest template. */
export function expand(template: string, values: { version: string; arch: string; binary?: string; url?: string }): string {
  const [, minor, patch] = values.version.replace(/^v/, '').split('.');
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    if (key === 'bare') return values.version.replace(/^v/, '');
    if (key === 'minor' && minor !== undefined) return minor;
    if (key === 'staging' && minor !== undefined && patch !== undefined) return `v0.${minor}.${patch}`;
    const value = (values as Record<string, string | undefined>)[key];
    return value ?? whole;
  });
}

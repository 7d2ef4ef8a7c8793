import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { LabError } from '../util/errors.ts';
import { fromPackage } from '../util/package-root.ts';

export interface OfficialSource {
  url: string;
  /** For archives: the path of the binary inside. */
  member?: string;
}

/** Upstream's published SHA-256 of each release file, by platform name ("linux-amd64") and file name (the last part of its URL). */
export type Pins = Record<string, Record<string, string>>;

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
  /** Release files without a pin are never taken from upstream or a mirror. */
  sha256?: Pins;
  source?: GoSource;
  versionCheck?: { binary: string; args: string[]; expect: string };
}

export interface Platform {
  os: 'linux';
  arch: 'amd64' | 'arm64';
}

export const hostPlatform = (): Platform => ({ os: 'linux', arch: process.arch === 'arm64' ? 'arm64' : 'amd64' });
export const platformName = (platform: Platform): string => `${platform.os}-${platform.arch}`;
export const SUPPORTED_PLATFORMS: Platform[] = [
  { os: 'linux', arch: 'amd64' },
  { os: 'linux', arch: 'arm64' },
];

let cached: Component[] | undefined;

export function loadManifest(): Component[] {
  if (!cached) {
    // merge: the second Kubernetes entry takes the first one's source with `<<:` and changes its Go lines.
    const components = (parse(readFileSync(fromPackage('src', 'artifacts', 'manifest.yaml'), 'utf8'), { merge: true }) as { components: Component[] }).components;
    for (const component of components) checkPins(component);
    cached = components;
  }
  return cached;
}

/** The name of the release file a binary comes from on a platform: the last part of its URL. */
export function releaseFileName(component: Component, platform: Platform, binary: string): string {
  const url = expand(component.official.url, { version: component.version, arch: platform.arch, binary });
  return url.slice(url.lastIndexOf('/') + 1);
}

/**
 * A pin that names no platform the manifest supports, no file the component's URL gives, or is not
 * a SHA-256 would never be looked up: the file it meant would be refused as unpinned, or a typo
 * would stay unnoticed. Refused when the manifest loads, naming the entry.
 */
export function checkPins(component: Component): void {
  const where = `src/artifacts/manifest.yaml: ${componentLabel(component)} sha256`;
  for (const [name, files] of Object.entries(component.sha256 ?? {})) {
    const platform = SUPPORTED_PLATFORMS.find((candidate) => platformName(candidate) === name);
    if (!platform) throw new Error(`${where}: "${name}" is not a platform (use ${SUPPORTED_PLATFORMS.map(platformName).join(' or ')})`);
    const known = new Set(component.binaries.map((binary) => releaseFileName(component, platform, binary)));
    for (const [file, sum] of Object.entries(files ?? {})) {
      if (!known.has(file)) throw new Error(`${where}.${name}: "${file}" is not a release file of ${component.name} (its URL gives ${[...known].join(', ')})`);
      if (typeof sum !== 'string' || !/^[0-9a-f]{64}$/.test(sum)) throw new Error(`${where}.${name}.${file}: "${String(sum)}" is not a SHA-256 (64 lowercase hex digits)`);
    }
  }
}

/** Upstream's SHA-256 of that release file, if the manifest pins it. */
export const pinOf = (component: Component, platform: Platform, file: string): string | undefined => component.sha256?.[platformName(platform)]?.[file];

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

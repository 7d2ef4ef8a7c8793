import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../util/errors.ts';
import { Progress } from '../../util/output.ts';
import { cacheDir } from '../../util/paths.ts';
import { expand, hostPlatform, type Component, type GoSource, type Platform } from '../manifest.ts';

/** Go caches live outside the repository, so a second build is warm. */
export function goEnvironment(platform: Platform, cgo = false): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOMODCACHE: join(cacheDir(), 'go', 'mod'),
    GOCACHE: join(cacheDir(), 'go', 'build'),
    GOFLAGS: '-mod=mod -buildvcs=false',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: cgo ? '1' : '0',
    GOOS: platform.os,
    GOARCH: platform.arch,
  };
}

/** The wrapper module: requires the upstream module and pins what it must, so `go build` works from the module proxy. */
export function wrapperGoMod(component: Component, source: GoSource): string {
  const values = { version: component.version, arch: '' };
  const lines = [`module hardway.local/build/${component.name}`, '', `go ${source.go}`, ''];
  if (source.godebug) lines.push(`godebug ${source.godebug}`, '');
  lines.push('require (', ...Object.entries(source.require).map(([module, version]) => `\t${module} ${expand(version, values)}`), ')', '');
  if (source.replaceAll) {
    const version = expand(source.replaceAll.version, values);
    lines.push('replace (', ...source.replaceAll.modules.map((module) => `\t${module} => ${module} ${version}`), ')', '');
  }
  return lines.join('\n');
}

export function packageOf(source: GoSource, binary: string): string {
  const pkg = source.packages?.[binary] ?? source.package;
  if (!pkg) throw new Error(`manifest: no Go package for ${binary}`);
  return expand(pkg, { version: '', arch: '', binary });
}

export function buildArgs(component: Component, source: GoSource, binary: string, output: string): string[] {
  const ldflags = ['-s', '-w', ...source.ldflags.map((flag) => expand(flag, { version: component.version, arch: '' }))].join(' ');
  const args = ['build', '-trimpath', '-ldflags', ldflags, '-o', output];
  if (source.tags?.length) args.push('-tags', source.tags.join(','));
  return [...args, packageOf(source, binary)];
}

/** Builds every binary of a component with the machine's Go toolchain and module proxy. */
export async function fromGoSource(component: Component, platform: Platform, onBinary?: (binary: string) => void): Promise<Map<string, string>> {
  const source = component.source;
  if (!source) throw new LabError(`${component.name} cannot be built from source (it is not on the Go module proxy)`, 'use a mirror (--mirror URL) or a folder (--bin-dir DIR)');
  await requireGo();
  if (source.cgo) requireCgo(component, source, platform);
  const env = goEnvironment(platform, source.cgo);
  const work = join(cacheDir(), 'build', `${component.name}-${component.version}`);
  mkdirSync(work, { recursive: true });
  const goMod = wrapperGoMod(component, source);
  const recipe = createHash('sha256').update(goMod).digest('hex');
  const marker = join(work, '.recipe');
  const progress = new Progress(`${component.name} ${component.version} from source`);
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== recipe) {
    writeFileSync(join(work, 'go.mod'), goMod);
    const imports = [...new Set(component.binaries.map((binary) => packageOf(source, binary)))];
    writeFileSync(join(work, 'tools.go'), `//go:build tools\n\npackage tools\n\nimport (\n${imports.map((pkg) => `\t_ "${pkg}"`).join('\n')}\n)\n`);
    progress.update('resolving modules (go mod tidy)');
    await runGo(['mod', 'tidy'], work, env, progress, 'go mod tidy');
    writeFileSync(marker, recipe);
  }
  const out = join(work, 'bin', platform.arch);
  mkdirSync(out, { recursive: true });
  const files = new Map<string, string>();
  for (const [index, binary] of component.binaries.entries()) {
    onBinary?.(binary);
    const started = Date.now();
    const label = `building ${binary} (${index + 1}/${component.binaries.length})`;
    await runGo(buildArgs(component, source, binary, join(out, binary)), work, env, progress, label);
    progress.update(`${binary} built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    files.set(binary, join(out, binary));
  }
  progress.done(`${component.binaries.length} binaries built`);
  return files;
}

/** A cgo build links C libraries of this host: it needs a C compiler and the headers, and cannot cross-compile. */
export function requireCgo(component: Component, source: GoSource, platform: Platform, root = '/usr/include'): void {
  if (platform.arch !== hostPlatform().arch) {
    throw new LabError(`${component.name} is built with cgo and cannot be built for ${platform.arch} on this ${hostPlatform().arch} host`, 'use its release files (--source official or a mirror)');
  }
  const packages = source.needs?.packages ?? ['gcc'];
  const missing = [
    ...(onPath('gcc') ? [] : ['a C compiler (gcc)']),
    ...(source.needs?.headers ?? []).filter((header) => !existsSync(join(root, header))).map((header) => `${header}`),
  ];
  if (missing.length > 0) {
    throw new LabError(
      `building ${component.name} from source needs ${missing.join(' and ')}, which this host lacks`,
      `run lab setup (it installs ${packages.join(', ')} when Go is present), or: apt-get install ${packages.join(' ')}`,
    );
  }
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, command)));
}

async function requireGo(): Promise<void> {
  try {
    await runGo(['version'], process.cwd(), process.env);
  } catch {
    throw new LabError('building from source needs the Go toolchain, and `go` is not on PATH', 'install Go 1.25 or newer, or use --mirror URL / --bin-dir DIR');
  }
}

/** Runs go, ticking elapsed seconds on the progress line; fails with go's last lines. */
function runGo(args: string[], cwd: string, env: NodeJS.ProcessEnv, progress?: Progress, label = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const started = Date.now();
    const ticker = progress && setInterval(() => progress.update(`${label} ${((Date.now() - started) / 1000).toFixed(0)} s`), 5000);
    progress?.update(label);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.on('error', (error) => {
      if (ticker) clearInterval(ticker);
      reject(error);
    });
    child.on('close', (code) => {
      if (ticker) clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new LabError(`go ${args.slice(0, 2).join(' ')} failed (exit ${code}): ${output.trim().split('\n').slice(-5).join(' | ')}`, 'check that the Go module proxy is reachable (GOPROXY) and that Go is 1.25 or newer'));
    });
  });
}

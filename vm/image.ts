import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { parse } from 'yaml';
import { LabError } from '../src/util/errors.ts';
import { Progress } from '../src/util/output.ts';
import { cacheDir } from '../src/util/paths.ts';
import { fromPackage } from '../src/util/package-root.ts';

const IMAGE_DIR = fromPackage('vm', 'image');
export const IMAGE_REPO = 'hardway/machine';

export interface ImageRecipe {
  base: { suite: string; variant: string; packages: string[] };
  enabled: string[];
  disabled: string[];
  masked: string[];
}

export function readRecipe(): ImageRecipe {
  return parse(readFileSync(join(IMAGE_DIR, 'recipe.yaml'), 'utf8')) as ImageRecipe;
}

/** A hash of the recipe and every file it installs: the image's tag. */
export function recipeHash(): string {
  const hash = createHash('sha256').update(readFileSync(join(IMAGE_DIR, 'recipe.yaml')));
  for (const file of listFiles(join(IMAGE_DIR, 'files'))) {
    hash.update(relative(IMAGE_DIR, file)).update(String(statSync(file).mode & 0o777)).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** A hash of what debootstrap is given: the base image's tag. */
export const baseHash = (recipe: ImageRecipe): string => createHash('sha256').update(JSON.stringify(recipe.base)).digest('hex').slice(0, 16);

export const imageTag = (hash = recipeHash()): string => `${IMAGE_REPO}:${hash}`;

/**
 * The machine image for the current recipe. Two layers: a Debian base made by debootstrap (cached as a
 * rootfs tarball, since it takes minutes), and our files and settings built on top with `docker build`.
 */
export async function ensureMachineImage(docker: Docker): Promise<string> {
  const tag = imageTag();
  if (await imageExists(docker, tag)) return tag;
  const recipe = readRecipe();
  const base = await ensureBaseImage(docker, recipe);
  await buildOverlay(docker, recipe, base, tag);
  return tag;
}

async function ensureBaseImage(docker: Docker, recipe: ImageRecipe): Promise<string> {
  const hash = baseHash(recipe);
  const tag = `${IMAGE_REPO}-base:${hash}`;
  if (await imageExists(docker, tag)) return tag;
  const tarball = join(cacheDir(), 'images', `machine-base-${hash}.tar`);
  if (!existsSync(tarball)) await buildRootfsTarball(recipe, tarball);
  await importRootfs(docker, tarball, tag);
  return tag;
}

export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** debootstrap from Debian's packages into a folder and pack it as a tarball. */
async function buildRootfsTarball(recipe: ImageRecipe, tarball: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new LabError('building the machine image needs root (debootstrap)', 'run lab up as root');
  if (!existsSync('/usr/sbin/debootstrap')) throw new LabError('debootstrap is not installed', 'run: lab setup');
  const work = join(cacheDir(), 'images', 'build');
  const rootfs = join(work, 'rootfs');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(rootfs, { recursive: true });

  const progress = new Progress('machine image');
  const mirror = process.env.HARDWAY_DEBIAN_MIRROR ?? hostDebianMirror();
  const { suite, variant, packages } = recipe.base;
  await runStreaming('debootstrap', [`--variant=${variant}`, `--include=${packages.join(',')}`, suite, rootfs, mirror], (line) =>
    progress.update(`debootstrap ${line.replace(/^I: /, '').slice(0, 70)}`),
  );
  await runStreaming('chroot', [rootfs, '/bin/sh', '-c', 'apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log']);
  progress.update('packing the root filesystem');
  const partial = `${tarball}.partial`;
  await runStreaming('tar', ['--numeric-owner', '--xattrs', '-C', rootfs, '-cf', partial, '.']);
  renameSync(partial, tarball);
  rmSync(work, { recursive: true, force: true });
  progress.done(`Debian ${suite} base built (${(statSync(tarball).size / 2 ** 20).toFixed(0)} MiB)`);
}

async function importRootfs(docker: Docker, tarball: string, tag: string): Promise<void> {
  const progress = new Progress('machine image');
  progress.update('importing the Debian base into the Docker engine');
  const [repo, version] = tag.split(':') as [string, string];
  const stream = await docker.importImage(createReadStream(tarball), { repo, tag: version });
  await followToEnd(docker, stream);
}

/** Our files and settings on top of the base, with a plain `docker build` (nothing is pulled). */
async function buildOverlay(docker: Docker, recipe: ImageRecipe, base: string, tag: string): Promise<void> {
  const progress = new Progress('machine image');
  progress.update('adding hardway files');
  const dockerfile = [
    `FROM ${base}`,
    'COPY files/ /',
    `RUN ${customiseScript(recipe)}`,
    'ENV container=docker',
    'STOPSIGNAL SIGRTMIN+3',
    `LABEL hardway.recipe=${tag.split(':')[1]}`,
    'CMD ["/usr/local/sbin/hardway-entrypoint"]',
    '',
  ].join('\n');
  const context = pack(IMAGE_DIR, {
    entries: ['files'],
    finalize: false,
    finish: (archive) => {
      archive.entry({ name: 'Dockerfile' }, dockerfile);
      archive.finalize();
    },
  });
  const stream = await docker.buildImage(Readable.from(context) as never, { t: tag, rm: true, forcerm: true });
  await followToEnd(docker, stream);
  progress.done(`ready as ${tag}`);
}

function customiseScript(recipe: ImageRecipe): string {
  return [
    ...recipe.disabled.map((unit) => `(systemctl disable ${unit} >/dev/null 2>&1 || true)`),
    ...recipe.enabled.map((unit) => `systemctl enable ${unit} >/dev/null 2>&1`),
    ...recipe.masked.map((unit) => `systemctl mask ${unit} >/dev/null 2>&1`),
    // Each machine generates these at first boot, so no two machines share them.
    'rm -f /etc/ssh/ssh_host_*',
    ': > /etc/machine-id',
    'rm -f /var/lib/dbus/machine-id',
  ].join(' && ');
}

/** Waits for a build or import stream to end, failing on the first error it reports. */
export function followToEnd(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (error, output: { error?: string }[] = []) => {
      const reported = output.find((event) => event.error)?.error;
      if (error || reported) reject(new Error(`image build failed: ${reported ?? error?.message}`));
      else resolve();
    }),
  );
}

export function hostDebianMirror(): string {
  const sources = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].filter(existsSync).map((f) => readFileSync(f, 'utf8')).join('\n');
  const uri = sources.match(/^URIs:\s*(\S+)/m)?.[1] ?? sources.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m)?.[1];
  return uri && !uri.includes('security') ? uri : 'http://deb.debian.org/debian';
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

/** Runs a command, handing each output line to onLine; rejects with its last lines when it fails. */
export function runStreaming(command: string, args: string[], onLine: (line: string) => void = () => {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const take = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}:\n${tail.join('\n')}`))));
  });
}

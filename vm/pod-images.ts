import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { LabError } from '../src/util/errors.ts';
import { Progress } from '../src/util/output.ts';
import { cacheDir } from '../src/util/paths.ts';
import { followToEnd, hostDebianMirror, imageExists, runStreaming } from './image.ts';
import type { PodImage } from './provider.ts';

/** How each image is made, by its repository's last name. */
const BUILDERS: Record<string, (docker: Docker, tag: string, image: PodImage) => Promise<void>> = {
  pause: (docker, tag) => buildPause(docker, tag),
  busybox: (docker, tag) => buildBusybox(docker, tag),
  nginx: (docker, tag) => buildNginx(docker, tag),
  coredns: (docker, tag, image) => buildCoredns(docker, tag, image.file ?? ''),
};

/** The tag an image has in the local Docker engine: hardway/<name>:<tag>[-<revision>]. */
const recipeName = (image: PodImage): string => image.registryPath.split('/').pop()!.split(':')[0]!;
const localTag = (image: PodImage): string => `hardway/${image.registryPath.split('/').pop()!}${image.revision ? `-${image.revision}` : ''}`;

/** Builds each image the engine does not have yet, then copies it into the lab's registry with skopeo. */
export async function publishPodImages(docker: Docker, images: PodImage[], registry: string): Promise<void> {
  for (const image of images) {
    await ensurePodImage(docker, image);
    const progress = new Progress('image registry');
    progress.update(`pushing ${image.reference}`);
    await pushFromEngine(docker, localTag(image), `docker://${registry}/${image.registryPath}`);
  }
}

/**
 * Copies an image of this engine (not necessarily the local one) into a registry: skopeo reads an
 * engine over a unix socket itself; from any other engine (TCP, ssh) the image is saved through
 * the engine's API into a file skopeo reads.
 */
async function pushFromEngine(docker: Docker, tag: string, destination: string): Promise<void> {
  const socket = (docker.modem as { socketPath?: unknown }).socketPath;
  if (typeof socket === 'string' && socket) {
    await skopeoCopy(`docker-daemon:${tag}`, destination, [`--src-daemon-host=unix://${socket}`]);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hardway-image-'));
  try {
    const archive = join(dir, 'image.tar');
    await pipeline((await docker.getImage(tag).get()) as NodeJS.ReadableStream, createWriteStream(archive));
    await skopeoCopy(`docker-archive:${archive}:${tag}`, destination);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function ensurePodImage(docker: Docker, image: PodImage): Promise<void> {
  const tag = localTag(image);
  if (await imageExists(docker, tag)) return;
  const build = BUILDERS[recipeName(image)];
  if (!build) throw new Error(`no recipe for the pod image ${image.reference}`);
  const progress = new Progress('pod images');
  progress.update(`building ${image.reference}`);
  await build(docker, tag, image);
  progress.done(`${image.reference} built`);
}

/** The sandbox ("pause") image: Debian's static catatonit, which in -P mode does exactly what pause does. */
async function buildPause(docker: Docker, tag: string): Promise<void> {
  await importFolder(docker, tag, ['ENTRYPOINT ["/catatonit", "-P"]'], (root) => {
    copyExecutable('/usr/bin/catatonit', join(root, 'catatonit'), 'catatonit');
  });
}

/**
 * A static busybox that behaves like the upstream busybox image's: Debian bookworm's 1.35 segfaults
 * on `wget -T`, which every tutorial types, so on such a host the package of Debian's next release
 * is fetched (with apt, into the cache) instead.
 */
async function upstreamLikeBusybox(): Promise<string> {
  if (busyboxVersion('/bin/busybox') >= 1.36) return '/bin/busybox';
  const dir = join(cacheDir(), 'debs', 'busybox-static-trixie');
  const binary = join(dir, 'root', 'usr', 'bin', 'busybox');
  if (existsSync(binary)) return binary;
  const progress = new Progress('pod images');
  progress.update('busybox: fetching busybox-static from Debian trixie (bookworm\'s wget -T crashes)');
  await fetchDebianPackage('busybox-static', 'trixie', dir);
  if (busyboxVersion(binary) < 1.36) throw new LabError(`the busybox in ${dir} is older than 1.36`, `remove ${dir} and run lab up again`);
  return binary;
}

function busyboxVersion(path: string): number {
  if (!existsSync(path)) return 0;
  const banner = spawnSync(path, [], { encoding: 'utf8' }).stdout;
  const match = banner.match(/BusyBox v(\d+)\.(\d+)/);
  return match ? Number(`${match[1]}.${match[2]!.padStart(2, '0')}`) : 0;
}

/** Downloads one package of a Debian suite with apt (a private source list and state, nothing on the host changes) and unpacks it into `dir`/root. */
async function fetchDebianPackage(name: string, suite: string, dir: string): Promise<void> {
  const work = join(dir, 'apt');
  for (const sub of ['lists/partial', 'cache/archives/partial']) mkdirSync(join(work, sub), { recursive: true });
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  if (!existsSync(keyring)) throw new LabError(`the host's busybox is too old and Debian's archive keyring is missing (${keyring})`, 'install busybox-static 1.36 or newer, or debian-archive-keyring, then run lab up again');
  const mirror = process.env.HARDWAY_DEBIAN_MIRROR ?? hostDebianMirror();
  writeFileSync(join(work, 'sources.list'), `deb [signed-by=${keyring}] ${mirror} ${suite} main\n`);
  const options = [
    `-o`, `Dir::Etc::SourceList=${join(work, 'sources.list')}`, '-o', 'Dir::Etc::SourceParts=/dev/null',
    '-o', `Dir::State::Lists=${join(work, 'lists')}`, '-o', `Dir::Cache=${join(work, 'cache')}`, '-o', 'Debug::NoLocking=1', '-o', 'APT::Sandbox::User=root',
  ];
  await runStreaming('apt-get', [...options, '-q', 'update']);
  await runStreaming('sh', ['-c', `cd "$1" && shift && apt-get "$@" download ${name}`, 'sh', work, ...options]);
  const deb = readdirSync(work).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  if (!deb) throw new LabError(`apt downloaded no ${name} package from ${suite}`, `check that ${mirror} serves ${suite}`);
  rmSync(join(dir, 'root'), { recursive: true, force: true });
  await runStreaming('dpkg-deb', ['-x', join(work, deb), join(dir, 'root')]);
}

async function buildBusybox(docker: Docker, tag: string): Promise<void> {
  const busybox = await upstreamLikeBusybox();
  await importFolder(docker, tag, ['ENV PATH=/bin', 'CMD ["/bin/sh"]'], (root) => {
    mkdirSync(join(root, 'bin'));
    copyExecutable(busybox, join(root, 'bin', 'busybox'), 'busybox-static');
    const applets = spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const applet of applets.filter((a) => a !== 'busybox')) symlinkSync('busybox', join(root, 'bin', applet));
    for (const dir of ['tmp', 'etc', 'proc', 'sys', 'dev', 'root']) mkdirSync(join(root, dir));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  });
}

async function buildCoredns(docker: Docker, tag: string, binary: string): Promise<void> {
  await importFolder(docker, tag, ['ENTRYPOINT ["/coredns"]', 'EXPOSE 53 53/udp'], (root) => {
    copyExecutable(binary, join(root, 'coredns'), 'coredns (lab artifacts fetch coredns)');
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/coredns\n');
  });
}

/** nginx from Debian (nginx-light), in a minimal Debian root filesystem made by debootstrap and cached. */
async function buildNginx(docker: Docker, tag: string): Promise<void> {
  const tarball = join(cacheDir(), 'images', 'nginx-bookworm.tar');
  if (!existsSync(tarball)) {
    const work = mkdtempSync(join(cacheDir(), 'images', 'nginx-'));
    try {
      const progress = new Progress('pod images');
      await runStreaming('debootstrap', ['--variant=minbase', '--include=nginx-light', 'bookworm', work, process.env.HARDWAY_DEBIAN_MIRROR ?? hostDebianMirror()], (line) =>
        progress.update(`nginx: debootstrap ${line.replace(/^I: /, '').slice(0, 60)}`),
      );
      const tidy = [
        'apt-get clean',
        'rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/locale/*',
        // as the official image does: logs go to the container's output, so kubectl logs shows them
        'ln -sf /dev/stdout /var/log/nginx/access.log',
        'ln -sf /dev/stderr /var/log/nginx/error.log',
      ].join(' && ');
      await runStreaming('chroot', [work, '/bin/sh', '-c', tidy]);
      await runStreaming('tar', ['--numeric-owner', '-C', work, '-cf', `${tarball}.partial`, '.']);
      renameSync(`${tarball}.partial`, tarball);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const [repo, version] = tag.split(':') as [string, string];
  const stream = await docker.importImage(createReadStream(tarball), {
    repo,
    tag: version,
    changes: ['CMD ["nginx", "-g", "daemon off;"]', 'EXPOSE 80'],
  });
  await followToEnd(docker, stream);
}

function copyExecutable(from: string, to: string, packageName: string): void {
  if (!existsSync(from)) throw new LabError(`${from} is missing`, `install ${packageName} (lab setup does)`);
  copyFileSync(from, to);
  chmodSync(to, 0o755);
}

async function importFolder(docker: Docker, tag: string, changes: string[], fill: (root: string) => void): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'hardway-image-'));
  try {
    fill(root);
    const [repo, version] = tag.split(':') as [string, string];
    const stream = await docker.importImage(Readable.from(pack(root)), { repo, tag: version, changes });
    await followToEnd(docker, stream);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Kept for tests that need a small image of their own. */
export async function ensureBusyboxImage(docker: Docker, tag = 'hardway/busybox:latest'): Promise<string> {
  if (!(await imageExists(docker, tag))) await buildBusybox(docker, tag);
  return tag;
}

function skopeoCopy(from: string, to: string, options: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', ...options, from, to], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', () => reject(new LabError('skopeo is not installed', 'run: lab setup')));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new LabError(`skopeo could not push ${from}: ${output.trim()}`, 'check that the jumpbox registry runs (lab status)'))));
  });
}

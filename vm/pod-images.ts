import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { LabError } from '../src/cli/errors.ts';
import { Progress } from '../src/cli/output.ts';
import { cacheDir } from '../src/host/paths.ts';
import { followToEnd, hostDebianMirror, imageExists, runStreaming } from './image.ts';

/** An image a pod can run, made locally from Debian's packages or our built binaries; no registry is pulled from. */
export interface PodImage {
  /** The name learners type, as registries know it. */
  reference: string;
  /** Its repository path inside the lab's registry (what containerd asks a mirror for). */
  registryPath: string;
  /** The tag it has in the local Docker engine. */
  localTag: string;
  build: (docker: Docker, tag: string) => Promise<void>;
}

export function podImages(corednsBinary: string): PodImage[] {
  return [
    { reference: 'registry.k8s.io/pause:3.10', registryPath: 'pause:3.10', localTag: 'hardway/pause:3.10', build: buildPause },
    { reference: 'docker.io/library/busybox:latest', registryPath: 'library/busybox:latest', localTag: 'hardway/busybox:latest', build: buildBusybox },
    { reference: 'docker.io/library/nginx:latest', registryPath: 'library/nginx:latest', localTag: 'hardway/nginx:latest', build: buildNginx },
    {
      reference: 'docker.io/coredns/coredns:1.13.1',
      registryPath: 'coredns/coredns:1.13.1',
      localTag: 'hardway/coredns:1.13.1',
      build: (docker, tag) => buildCoredns(docker, tag, corednsBinary),
    },
  ];
}

/** Builds each image the engine does not have yet. */
export async function ensurePodImages(docker: Docker, images: PodImage[]): Promise<void> {
  for (const image of images) {
    if (await imageExists(docker, image.localTag)) continue;
    const progress = new Progress('pod images');
    progress.update(`building ${image.reference}`);
    await image.build(docker, image.localTag);
    progress.done(`${image.reference} built`);
  }
}

/** The sandbox ("pause") image: Debian's static catatonit, which in -P mode does exactly what pause does. */
async function buildPause(docker: Docker, tag: string): Promise<void> {
  await importFolder(docker, tag, ['ENTRYPOINT ["/catatonit", "-P"]'], (root) => {
    copyExecutable('/usr/bin/catatonit', join(root, 'catatonit'), 'catatonit');
  });
}

async function buildBusybox(docker: Docker, tag: string): Promise<void> {
  await importFolder(docker, tag, ['ENV PATH=/bin', 'CMD ["/bin/sh"]'], (root) => {
    mkdirSync(join(root, 'bin'));
    copyExecutable('/bin/busybox', join(root, 'bin', 'busybox'), 'busybox-static');
    const applets = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
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

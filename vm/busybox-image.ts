import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { LabError } from '../src/cli/errors.ts';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'echo', 'cat', 'ls', 'sleep', 'hostname', 'wget', 'nslookup', 'httpd', 'env', 'ps', 'ip', 'id'];

/**
 * A tiny image holding Debian's static busybox, imported straight into the engine: no registry needed.
 * Returns the tag.
 */
export async function ensureBusyboxImage(docker: Docker, tag = 'hardway/busybox:latest'): Promise<string> {
  try {
    await docker.getImage(tag).inspect();
    return tag;
  } catch {
    // not there yet: build it
  }
  if (!existsSync(BUSYBOX)) throw new LabError(`${BUSYBOX} is missing`, 'run: lab setup (it installs busybox-static)');
  const root = mkdtempSync(join(tmpdir(), 'hardway-busybox-'));
  try {
    mkdirSync(join(root, 'bin'));
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
    for (const dir of ['tmp', 'etc', 'proc', 'sys', 'dev']) mkdirSync(join(root, dir));
    const [repo, version] = tag.split(':') as [string, string];
    const stream = await docker.importImage(Readable.from(pack(root)), { repo, tag: version, changes: ['ENV PATH=/bin', 'CMD ["/bin/sh"]'] });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())));
    return tag;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

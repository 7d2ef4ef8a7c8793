import type Docker from 'dockerode';

/**
 * Runs a shell script in a throwaway container of `image` that runs as a machine does (every capability but
 * SYS_RESOURCE, no seccomp or AppArmor, no network), plus `host`'s settings; removes it after, and fails
 * with its output (saying what it was doing) if the script fails.
 */
export async function runHelperContainer(docker: Docker, image: string, script: string, what: string, host: Docker.HostConfig = {}): Promise<void> {
  const helper = await docker.createContainer({
    Image: image,
    Entrypoint: ['sh', '-c', script],
    Cmd: [],
    Labels: { 'hardway.helper': what },
    HostConfig: { CapAdd: ['ALL'], CapDrop: ['SYS_RESOURCE'], SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'], NetworkMode: 'none', ...host },
  } as Docker.ContainerCreateOptions);
  try {
    await helper.start();
    const { StatusCode } = (await helper.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      const logs = (await helper.logs({ stdout: true, stderr: true })).toString('utf8').slice(-2000);
      throw new Error(`${what} failed (exit ${StatusCode}): ${logs}`);
    }
  } finally {
    await helper.remove({ force: true }).catch(() => undefined);
  }
}

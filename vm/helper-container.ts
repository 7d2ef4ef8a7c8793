import { machineSecurityOptions } from './machine-security.ts';
import type Docker from 'dockerode';

/**
 * What a helper runs: a fixed shell script, and the values it works on as its positional parameters
 * ($1, $2…), so no value (a machine name, a path) is ever read by the shell as script text.
 */
export interface HelperScript {
  script: string;
  args: readonly string[];
}

/** The helper's command line: `sh -c SCRIPT sh ARG…` (the `sh` is $0). */
export const helperCommand = ({ script, args }: HelperScript): string[] => ['sh', '-c', script, 'sh', ...args];

/**
 * The container a helper is: `image` bounded as a machine is (vm/security/machine.yaml), with no
 * network, plus `host`'s settings.
 */
export function helperContainerOptions(image: string, run: HelperScript, what: string, host: Docker.HostConfig = {}): Docker.ContainerCreateOptions {
  return {
    Image: image,
    Entrypoint: helperCommand(run),
    Cmd: [],
    Labels: { 'hardway.helper': what },
    HostConfig: { ...machineSecurityOptions(), NetworkMode: 'none', ...host },
  } as Docker.ContainerCreateOptions;
}

/** Runs a helper in a throwaway container, removes it after, and fails with its output (saying what it was doing) if the script fails. */
export async function runHelperContainer(docker: Docker, image: string, run: HelperScript, what: string, host: Docker.HostConfig = {}): Promise<void> {
  const helper = await docker.createContainer(helperContainerOptions(image, run, what, host));
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

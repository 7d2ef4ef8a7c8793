import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { fromPackage } from '../src/util/package-root.ts';
import { machineSecurityOptions } from './machine-security.ts';

/**
 * The grader beside a machine: a container of the pristine machine image that shares the machine's
 * processes and network but not its files. A check runs in a copy of the machine's mount namespace with
 * the grader's programs moved over it (vm/grader/grade.pl), so a tool, a preload or a config file the
 * learner planted in the machine is not what grades them; a check's ssh to another machine runs its
 * command in that machine's grader (vm/grader/ssh.sh, serve.sh).
 */
export const GRADER_LABEL = 'hardway.grader-of';
export const GRADER_TOOLS_LABEL = 'hardway.grader-tools';
export const graderName = (lab: string, machine: string): string => `hardway-${lab}-${machine}-grader`;

/** Where checks find the course's release files ($HARDWAY_RELEASES), read-only and out of the machine's reach. */
export const GRADER_RELEASES = '/run/hardway-grader/releases';

const GRADER_FILES = fromPackage('vm', 'grader');
const graderFile = (name: string): string => readFileSync(`${GRADER_FILES}/${name}`, 'utf8');

/** The command that runs `command` as a check, in the grader. */
export const gradedCommand = (command: string[]): string[] => ['bash', '/run/hardway-grader/grade.sh', ...command];

/** The key a lab's graders mark their requests and answers with: from the lab network's id, which nothing inside a machine can read. */
export const graderKey = (networkId: string): string => createHash('sha256').update(`hardway-grader:${networkId}`).digest('hex');

export interface GraderSpec {
  lab: string;
  machine: string;
  machineId: string;
  image: string;
  /** Host folder of the release files, shown read-only at GRADER_RELEASES. */
  releases: string | undefined;
  key: string;
}

/** The grader's container: bounded as a machine is, in the machine's PID and network namespaces, the release files read-only. */
export function graderContainerOptions(spec: GraderSpec, host: Docker.HostConfig = {}): Docker.ContainerCreateOptions {
  return {
    name: graderName(spec.lab, spec.machine),
    Image: spec.image,
    Entrypoint: ['sh', '-c', graderFile('start.sh')],
    Cmd: [],
    Env: [
      `HARDWAY_GRADER_SETUP=${graderFile('grade.pl')}`,
      `HARDWAY_GRADER_RUN=${graderFile('grade.sh')}`,
      `HARDWAY_GRADER_SERVE=${graderFile('serve.sh')}`,
      `HARDWAY_GRADER_SSH=${graderFile('ssh.sh')}`,
      `HARDWAY_GRADER_KEY=${spec.key}`,
      `HARDWAY_GRADER_MACHINE=${spec.machine}`,
    ],
    Labels: { [GRADER_LABEL]: spec.lab, 'hardway.grader-machine': spec.machine },
    HostConfig: {
      ...machineSecurityOptions(),
      PidMode: `container:${spec.machineId}`,
      NetworkMode: `container:${spec.machineId}`,
      Binds: spec.releases ? [`${spec.releases}:${GRADER_RELEASES}:ro`] : [],
      ...host,
    },
  } as Docker.ContainerCreateOptions;
}

interface GraderInfo {
  Id: string;
  State: { Running: boolean; StartedAt: string };
  HostConfig: { PidMode?: string };
}

/** A grader serves the machine it was started beside: one started before the machine's last start shares namespaces that are gone. */
export function graderIsCurrent(grader: GraderInfo | null, machine: { Id: string; State: { StartedAt: string } }): boolean {
  return !!grader && grader.State.Running && grader.HostConfig.PidMode === `container:${machine.Id}` && Date.parse(grader.State.StartedAt) >= Date.parse(machine.State.StartedAt);
}

import { Option } from 'commander';
import { LabError } from '../util/errors.ts';
import { DEFAULT_LAB, MACHINES, findMachine, validLabName } from '../lab/topology.ts';
import type { LabEngine } from '../engine/lab.ts';
import type { MachineProvider } from '../../vm/provider.ts';

// Commands import the engine and the Docker client only when they run, so `lab --help` stays fast.

export const labOption = (): Option =>
  new Option('--lab <name>', 'which lab (several can exist side by side)').env('HARDWAY_LAB').default(DEFAULT_LAB);

export function checkLabName(lab: string): string {
  if (!validLabName(lab)) throw new LabError(`"${lab}" is not a valid lab name`, 'use lowercase letters, digits and dashes, at most 31 characters');
  return lab;
}

export function checkMachineName(name: string): string {
  if (!findMachine(name)) throw new LabError(`there is no machine called "${name}"`, `pick one of: ${MACHINES.map((m) => m.name).join(', ')}`);
  return name;
}

export const labFlag = (lab: string): string => (lab === DEFAULT_LAB ? '' : ` --lab ${lab}`);

/** A provider whose engine answers, or a clear error saying how to start one. */
export async function engineProvider(): Promise<MachineProvider> {
  const { DockerProvider } = await import('../../vm/docker-provider.ts');
  const provider = new DockerProvider();
  const engine = await provider.probe();
  if (!engine.reachable) {
    throw new LabError(
      engine.reason === 'unreachable-host' ? `the Docker engine at DOCKER_HOST=${process.env.DOCKER_HOST} does not answer` : 'the Docker engine is not running',
      'run: lab setup (it starts dockerd), then try again',
    );
  }
  return provider;
}

/** For commands that read the course and progress only: touching a machine through it is a bug. */
const noMachines = new Proxy({} as MachineProvider, {
  get: (_target, method) => () => Promise.reject(new Error(`internal: this command does not reach machines (${String(method)})`)),
});

/** The engine for one lab; `machines: false` for commands that never reach a machine (no Docker client is loaded). */
export async function openLab(name: string, { machines = true } = {}): Promise<LabEngine> {
  const lab = checkLabName(name);
  const [{ LabEngine }, { loadCourseData }] = await Promise.all([import('../engine/lab.ts'), import('../engine/session.ts')]);
  const course = loadCourseData();
  return new LabEngine(machines ? await engineProvider() : noMachines, lab, course);
}

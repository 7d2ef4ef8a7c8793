import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { MachineProvider } from '../../vm/provider.ts';
import type { Check, MachineName } from './course.ts';
import { LabFilesError, loadYaml, type LabFileError } from './lab-files.ts';
import { runChecks, runScript, type CheckOutcome, type ExecOutcome } from './runner.ts';
import { faultSchema, healthSchema } from './schema.ts';
import { pollUntil, timeScale } from '../util/time.ts';
import { fromPackage } from '../util/package-root.ts';

export interface Action {
  machine: MachineName;
  run: string;
}

export interface Fault {
  id: string;
  title: string;
  component: string;
  difficulty: 1 | 2 | 3;
  symptom: string;
  inject: Action[];
  signatures: { component: string; contains: string }[];
  hints: string[];
  solve: Action[];
  fixed: (Check & { machine: MachineName })[];
  /** Words from the scripts that the `fixed` messages may name anyway, each with why it is an observation. */
  message_exceptions?: { word: string; reason: string }[];
}

export interface HealthChecks {
  health: (Check & { machine: MachineName; component: string })[];
  guards: (Check & { machine: MachineName })[];
  /** What a planned shutdown does before the machines stop (a snapshot); each action's failure is ignored. */
  shutdown?: Action[];
}

export const DEFAULT_FAULTS_DIR = fromPackage('labs', 'faults');
export const DEFAULT_HEALTH_FILE = fromPackage('labs', 'health.yaml');

/** Every fault file, validated; all problems are reported at once with file:line. */
export function loadFaults(dir = DEFAULT_FAULTS_DIR): Fault[] {
  const errors: LabFileError[] = [];
  const faults: Fault[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const loaded = loadYaml<Omit<Fault, 'id'>>(join(dir, name), relative(process.cwd(), join(dir, name)), faultSchema, errors);
    if (loaded) faults.push({ id: name.replace(/\.yaml$/, ''), ...loaded.data });
  }
  if (errors.length > 0) throw new LabFilesError(errors);
  return faults;
}

export function loadHealth(file = DEFAULT_HEALTH_FILE): HealthChecks {
  const errors: LabFileError[] = [];
  const loaded = existsSync(file) ? loadYaml<HealthChecks>(file, relative(process.cwd(), file), healthSchema, errors) : null;
  if (!loaded) throw new LabFilesError(errors.length ? errors : [{ file, line: 1, column: 1, message: 'missing' }]);
  return loaded.data;
}

export async function runActions(provider: MachineProvider, lab: string, actions: Action[]): Promise<ExecOutcome> {
  for (const action of actions) {
    const outcome = await runScript(provider, lab, action.machine, action.run);
    if (!outcome.ok) return outcome;
  }
  return { ok: true, output: '' };
}

/** The cluster's health and the guards, together: what every fix must leave true. */
export async function checkHealth(provider: MachineProvider, lab: string, health: HealthChecks): Promise<CheckOutcome> {
  return runChecks(provider, lab, [...health.health, ...health.guards]);
}

export async function injectFault(provider: MachineProvider, lab: string, fault: Fault): Promise<ExecOutcome> {
  return runActions(provider, lab, fault.inject);
}

/** Grades a fix: the fault's own checks, then every component's health, then the guards. */
export async function gradeFix(provider: MachineProvider, lab: string, fault: Fault, health: HealthChecks): Promise<CheckOutcome> {
  const [own, overall] = await Promise.all([runChecks(provider, lab, fault.fixed), checkHealth(provider, lab, health)]);
  const failures = [...own.failures, ...overall.failures];
  return { passed: failures.length === 0, failures };
}

/** Polls the grade until it passes or time runs out; components take seconds to settle after a fix. */
export async function waitForFix(provider: MachineProvider, lab: string, fault: Fault, health: HealthChecks, timeoutMs = 150_000, intervalMs = 3000): Promise<CheckOutcome> {
  return pollUntil(() => gradeFix(provider, lab, fault, health), (outcome) => outcome.passed, timeoutMs * timeScale(), intervalMs);
}

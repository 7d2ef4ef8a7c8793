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
  /** Each guard's script begins with the file's `guard_functions` (the bash functions they share). */
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
  const { guard_functions: functions, ...checks } = loaded.data as HealthChecks & { guard_functions?: string };
  if (!functions) return checks;
  // Every consumer (lab check, the map, the tests' fake processes) then runs a guard's whole script as it is.
  return { ...checks, guards: checks.guards.map((guard) => ({ ...guard, run: `${functions.trimEnd()}\n${guard.run}` })) };
}

/** What a list of actions did; when one failed, which (counted from 0), and the rest were not run. */
export interface ActionsOutcome extends ExecOutcome {
  failedAction?: number;
}

/** Runs actions in order, each in its machine, stopping at the first that fails or cannot be run. */
export async function runActions(provider: MachineProvider, lab: string, actions: Action[]): Promise<ActionsOutcome> {
  for (const [index, action] of actions.entries()) {
    const outcome = await runScript(provider, lab, action.machine, action.run).catch(
      (error: unknown): ExecOutcome => ({ ok: false, exitCode: null, output: error instanceof Error ? error.message : String(error) }),
    );
    if (!outcome.ok) return { ...outcome, failedAction: index };
  }
  return { ok: true, exitCode: 0, output: '' };
}

/**
 * A failed inject or fix in plain words: which action of the fault file, on which machine, its exit
 * code and the end of its output, for the learner to report and the fault's author to reproduce.
 */
export function actionFailureMessage(fault: Fault, list: 'inject' | 'solve', outcome: ActionsOutcome): string {
  const index = outcome.failedAction ?? 0;
  const action = fault[list][index]!;
  const what = list === 'inject' ? `injecting the fault ${fault.id} failed` : `the fix of the fault ${fault.id} failed`;
  const how = outcome.exitCode === null ? 'could not be run' : `exited with code ${outcome.exitCode}`;
  const printed = outcome.output ? `; its output ends:\n${indent(outcome.output)}` : ', printing nothing';
  return `${what}: action ${index + 1} of ${fault[list].length} (${list}[${index}] in labs/faults/${fault.id}.yaml) on ${action.machine} ${how}${printed}`;
}

/** What to try after a failed inject or fix: heal the lab; a fault's author runs the action by hand to watch it fail. */
export function actionFailureNext(fault: Fault, list: 'inject' | 'solve', outcome: ActionsOutcome, labFlag: string): string {
  const machine = fault[list][outcome.failedAction ?? 0]!.machine;
  return `lab heal${labFlag} restores the cluster. To watch the action fail: lab shell ${machine}${labFlag}, then run its lines one at a time`;
}

const indent = (text: string): string => text.split('\n').map((line) => `  ${line}`).join('\n');

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

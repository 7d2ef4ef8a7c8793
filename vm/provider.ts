import type { Duplex } from 'node:stream';
import type { ScriptResult } from './exec-scripts.ts';

/** Whether an engine answers; when it does not, why, so the error can say what to do. */
export type EngineState =
  | { reachable: true; version: string; apiVersion: string; cgroupDriver: string; cgroupVersion: string }
  | { reachable: false; reason: 'no-engine-installed' | 'not-running' | 'unreachable-host'; detail: string };

/** An image a pod can run, made locally (no registry is pulled from): what it is called, and where the lab's registry keeps it. */
export interface PodImage {
  /** The name learners type, as registries know it. */
  reference: string;
  /** Its repository path inside the lab's registry (what containerd asks a mirror for). */
  registryPath: string;
  /** A host file the image is made around (a built binary), when it has one. */
  file?: string;
  /** Raised when its recipe changes what it builds, so an engine's older build is not reused (and snapshots are keyed anew). */
  revision?: string;
}

/** What a lab machine is made from. */
export interface MachineSpec {
  lab: string;
  name: string;
  ip: string;
  image: string;
  /** Mount a volume here so nested container runtimes get a real filesystem for overlay mounts. */
  containerdVolume: boolean;
  /** Host folders shown read-only inside the machine: host path -> machine path. */
  readOnlyFolders?: Record<string, string>;
  /**
   * A host folder of the course's release files that the machine's grader (not the machine) shows its
   * checks read-only, at GRADER_RELEASES (vm/grader.ts).
   */
  graderReleases?: string;
  /** Make the machine from this snapshot's copy of the machine of the same name (its filesystem and volume); `image` is then not used. */
  snapshot?: string;
}

/** A lab kept as it was, machine by machine: made by saveSnapshot, restored by create with `snapshot`. */
export interface SnapshotRecord {
  id: string;
  /** What the engine said about it when it was saved (its key, chapter, passed steps…). */
  meta: Record<string, string>;
  machines: string[];
  /** The disk it costs beyond the machine image it was made from: its own image layers and volumes. */
  sizeBytes: number;
  createdMs: number;
}

/** What a snapshot brought from elsewhere may name: the lab's machines, and ids of the shape its engine makes (`id` must match the whole id). */
export interface SnapshotShape {
  machines: readonly string[];
  id: RegExp;
}

export interface Machine {
  lab: string;
  name: string;
  ip: string | null;
  state: 'running' | 'stopped';
  containerId: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Bytes fed to the command's standard input. */
  input?: string | Buffer;
  env?: Record<string, string>;
  workdir?: string;
  /** Stop the command in the machine after this long (its whole process group), and fail. */
  timeoutMs?: number;
}

/** A live TTY session in a machine: write keystrokes, read the screen, follow the window size. */
export interface Terminal {
  stream: Duplex;
  resize(columns: number, rows: number): Promise<void>;
  /** Resolves with the shell's exit code when it ends. */
  exited: Promise<number>;
}

/** The networks a lab's machines share. */
export interface LabNetwork {
  name: string;
  subnet: string;
}

/**
 * One small interface for "a machine", after kind's providers: everything a lab does to a machine
 * goes through here, so a provider other than Docker could stand behind it.
 */
export interface MachineProvider {
  /** Whether the engine behind the machines answers, and if not, the most likely reason. */
  probe(): Promise<EngineState>;
  /** The image machines are made from, built first if missing (minutes: it reports progress). */
  ensureMachineImage(): Promise<string>;
  /** The name the machine image has now (what ensureMachineImage returns), without building it. */
  machineImageTag(): string;
  /** Builds the pod images that are missing and pushes them into the registry at `registry` (host:port). */
  publishPodImages(images: PodImage[], registry: string): Promise<void>;
  createNetwork(lab: string): Promise<LabNetwork>;
  create(spec: MachineSpec): Promise<Machine>;
  start(lab: string, name: string): Promise<void>;
  stop(lab: string, name: string): Promise<void>;
  exec(lab: string, name: string, command: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Optional: runs several bash scripts in one machine at once through a single exec, each with its
   * own result and time limit (options.timeoutMs). Without it, each script is an exec of its own.
   */
  execScripts?(lab: string, name: string, scripts: string[], options: ExecOptions & { timeoutMs: number }): Promise<ScriptResult[]>;
  /**
   * Optional: runs checks like execScripts, but with tools the learner cannot replace: the machine's
   * files and processes, the grader's programs (vm/grader.ts). Only grading uses it; without it, checks
   * run with execScripts.
   */
  gradeScripts?(lab: string, name: string, scripts: string[], options: ExecOptions & { timeoutMs: number }): Promise<ScriptResult[]>;
  /** A TTY session running `command`; `options` sets its working directory and environment (not `input` or `timeoutMs`). */
  terminal(lab: string, name: string, command: string[], size: { columns: number; rows: number }, options?: Pick<ExecOptions, 'env' | 'workdir'>): Promise<Terminal>;
  list(lab?: string): Promise<Machine[]>;
  /** Removes every container, network and volume of the lab, whatever state it was left in. */
  deleteLab(lab: string): Promise<void>;
  /** Keeps every machine of a stopped lab (filesystem and volumes) as snapshot `id`, described by `meta`. */
  saveSnapshot(lab: string, id: string, meta: Record<string, string>): Promise<SnapshotRecord>;
  listSnapshots(): Promise<SnapshotRecord[]>;
  removeSnapshot(id: string): Promise<void>;
  /**
   * Writes a snapshot into a folder of plain files (for carrying it to another host), and reads one back;
   * a folder naming anything `shape` does not allow is refused before anything is removed or run.
   */
  exportSnapshot(id: string, folder: string): Promise<void>;
  importSnapshot(folder: string, shape: SnapshotShape): Promise<SnapshotRecord>;
}

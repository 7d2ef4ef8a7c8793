import type { Duplex, Readable } from 'node:stream';

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
}

export interface Machine {
  lab: string;
  name: string;
  ip: string | null;
  state: 'running' | 'stopped' | 'missing';
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
  /** Kill the wait (not the process) after this long, and fail. */
  timeoutMs?: number;
}

/** A live TTY session in a machine: write keystrokes, read the screen, follow the window size. */
export interface Terminal {
  stream: Duplex;
  resize(columns: number, rows: number): Promise<void>;
  /** Resolves with the shell's exit code when it ends. */
  exited: Promise<number>;
}

export interface LogOptions {
  unit?: string;
  since?: string;
  lines?: number;
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
  createNetwork(lab: string): Promise<LabNetwork>;
  create(spec: MachineSpec): Promise<Machine>;
  start(lab: string, name: string): Promise<void>;
  stop(lab: string, name: string): Promise<void>;
  exec(lab: string, name: string, command: string[], options?: ExecOptions): Promise<ExecResult>;
  terminal(lab: string, name: string, command: string[], size: { columns: number; rows: number }): Promise<Terminal>;
  copyIn(lab: string, name: string, tar: Readable, destinationDir: string): Promise<void>;
  copyOut(lab: string, name: string, path: string): Promise<Readable>;
  logs(lab: string, name: string, options?: LogOptions): Promise<string>;
  list(lab?: string): Promise<Machine[]>;
  /** Removes every container, network and volume of the lab, whatever state it was left in. */
  deleteLab(lab: string): Promise<void>;
}

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { MACHINES, machineIp } from '../../src/lab/topology.ts';
import type { EngineState, ExecOptions, ExecResult, LabNetwork, Machine, MachineProvider, MachineSpec, PodImage, SnapshotRecord, SnapshotShape, Terminal } from '../../vm/provider.ts';

/**
 * An in-memory MachineProvider for unit tests of the engine's own logic. A lab's state is a set of
 * named facts; scripts are lines of a tiny language instead of bash:
 *   has X / lacks X   exit 1 unless the fact is there / absent (checks)
 *   set X / unset X   change a fact (solutions, faults)
 *   count X           add one to counter X (to see how often something ran)
 *   fail              exit 1
 *   exit N            exit N, printing nothing (a silent failure)
 * Anything else is what lab up runs itself (systemctl, ssh-keygen) and succeeds.
 */
export class FakeProvider implements MachineProvider {
  readonly facts = new Map<string, Set<string>>();
  readonly counters = new Map<string, number>();
  readonly execLog: { lab: string; machine: string; script: string }[] = [];
  readonly machines = new Map<string, Map<string, Machine>>();
  engineDown = false;
  /** Facts that appear only after this many checks have read them: a cluster still recovering. */
  readonly slowFacts = new Map<string, number>();
  /** Snapshots: the lab's facts when it was saved. */
  readonly snapshots = new Map<string, SnapshotRecord & { facts: string[] }>();
  /** Which snapshot each lab's machines were made from, for the labs restored from one. */
  readonly restoredFrom = new Map<string, string>();
  /** Facts a restored lab does not get back (what names the old network, or lives in tmpfs). */
  readonly lostOnRestore = new Set<string>();
  /** Each lab's subnet: a new lab gets the next one, as on the real engine. */
  readonly subnets = new Map<string, string>();

  factsOf(lab: string): Set<string> {
    let facts = this.facts.get(lab);
    if (!facts) this.facts.set(lab, (facts = new Set()));
    return facts;
  }

  async probe(): Promise<EngineState> {
    return this.engineDown ? { reachable: false, reason: 'not-running', detail: 'fake engine stopped' } : { reachable: true, version: 'fake', apiVersion: '1.41', cgroupDriver: 'cgroupfs', cgroupVersion: '1' };
  }

  async ensureMachineImage(): Promise<string> {
    return 'fake/machine:latest';
  }

  machineImageTag(): string {
    return 'fake/machine:latest';
  }

  async publishPodImages(_images: PodImage[], _registry: string): Promise<void> {}

  async createNetwork(lab: string): Promise<LabNetwork> {
    if (!this.subnets.has(lab)) this.subnets.set(lab, `10.240.${this.subnets.size}.0/24`);
    return { name: `fake-${lab}`, subnet: this.subnets.get(lab)! };
  }

  async create(spec: MachineSpec): Promise<Machine> {
    const lab = this.labMachines(spec.lab);
    const existing = lab.get(spec.name);
    if (existing) return existing;
    const machine: Machine = { lab: spec.lab, name: spec.name, ip: spec.ip, state: 'stopped', containerId: `fake-${spec.lab}-${spec.name}` };
    if (spec.snapshot) {
      const snapshot = this.snapshots.get(spec.snapshot);
      if (!snapshot) throw new Error(`(HTTP code 404) no such image - hardway/snapshot:${spec.snapshot}-${spec.name}`);
      if (lab.size === 0) this.facts.set(spec.lab, new Set(snapshot.facts.filter((f) => !this.lostOnRestore.has(f))));
      this.restoredFrom.set(spec.lab, spec.snapshot);
    }
    lab.set(spec.name, machine);
    return machine;
  }

  async start(lab: string, name: string): Promise<void> {
    this.machineOf(lab, name).state = 'running';
  }

  async stop(lab: string, name: string): Promise<void> {
    this.machineOf(lab, name).state = 'stopped';
  }

  /** Stops every machine of a lab, as a dockerd restart does. */
  stopAll(lab: string): void {
    for (const machine of this.labMachines(lab).values()) machine.state = 'stopped';
  }

  /** Creates the lab's machines, running, without lab up. */
  seed(lab: string): void {
    for (const role of MACHINES) {
      this.labMachines(lab).set(role.name, { lab, name: role.name, ip: machineIp('10.240.0.0/24', role), state: 'running', containerId: `fake-${lab}-${role.name}` });
    }
  }

  async exec(lab: string, name: string, command: string[], _options: ExecOptions = {}): Promise<ExecResult> {
    if (this.engineDown) throw new Error('connect ENOENT /var/run/docker.sock');
    const machine = this.labMachines(lab).get(name);
    if (!machine) throw new Error(`(HTTP code 404) no such container - hardway-${lab}-${name}`);
    if (machine.state !== 'running') throw new Error(`(HTTP code 409) container hardway-${lab}-${name} is not running`);
    const script = command[command.length - 1] ?? '';
    this.execLog.push({ lab, machine: name, script });
    if (command[0] === 'systemctl') return { exitCode: 0, stdout: 'running\n', stderr: '' };
    if (script.includes('ssh-keygen')) return { exitCode: 0, stdout: 'ssh-ed25519 AAAAfake root@jumpbox\n', stderr: '' };
    return this.run(lab, script);
  }

  private run(lab: string, script: string): ExecResult {
    const facts = this.factsOf(lab);
    for (const line of script.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const [verb, fact = ''] = line.split(/\s+/, 2) as [string, string?];
      const failed = (why: string): ExecResult => ({ exitCode: 1, stdout: '', stderr: why });
      if (verb === 'has') {
        const wait = this.slowFacts.get(fact);
        if (wait !== undefined && wait > 0) {
          this.slowFacts.set(fact, wait - 1);
          return failed(`${fact} not yet`);
        }
        if (!facts.has(fact)) return failed(`no ${fact}`);
      } else if (verb === 'lacks') {
        if (facts.has(fact)) return failed(`${fact} is there`);
      } else if (verb === 'set') facts.add(fact);
      else if (verb === 'unset') facts.delete(fact);
      else if (verb === 'count') this.counters.set(fact, (this.counters.get(fact) ?? 0) + 1);
      else if (verb === 'fail') return failed('failed on purpose');
      else if (verb === 'exit') return { exitCode: Number(fact), stdout: '', stderr: '' };
    }
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  /** How many scripts containing `text` ran in a lab. */
  ran(lab: string, text: string): number {
    return this.execLog.filter((e) => e.lab === lab && e.script.includes(text)).length;
  }

  /** Every terminal opened: where, running what, with which working directory and environment. */
  readonly terminalLog: { lab: string; machine: string; command: string[]; options: Pick<ExecOptions, 'env' | 'workdir'> }[] = [];

  async terminal(lab: string, name: string, command: string[], _size: { columns: number; rows: number }, options: Pick<ExecOptions, 'env' | 'workdir'> = {}): Promise<Terminal> {
    this.machineOf(lab, name);
    this.terminalLog.push({ lab, machine: name, command, options });
    return echoTerminal(name);
  }

  async list(lab?: string): Promise<Machine[]> {
    const labs = lab ? [this.labMachines(lab)] : [...this.machines.values()];
    return labs.flatMap((m) => [...m.values()]).map((m) => ({ ...m }));
  }

  async deleteLab(lab: string): Promise<void> {
    this.machines.delete(lab);
    this.facts.delete(lab);
  }

  async saveSnapshot(lab: string, id: string, meta: Record<string, string>): Promise<SnapshotRecord> {
    const machines = [...this.labMachines(lab).values()];
    if (machines.length === 0) throw new Error(`lab ${lab} has no machines to snapshot`);
    if (machines.some((m) => m.state === 'running')) throw new Error('a snapshot is taken with the machines stopped');
    const record = { id, meta, machines: machines.map((m) => m.name).sort(), sizeBytes: 1000, createdMs: Date.now() + this.snapshots.size, facts: [...this.factsOf(lab)] };
    this.snapshots.set(id, record);
    return record;
  }

  async listSnapshots(): Promise<SnapshotRecord[]> {
    return [...this.snapshots.values()].map(({ facts: _facts, ...record }) => record).sort((a, b) => b.createdMs - a.createdMs);
  }

  async removeSnapshot(id: string): Promise<void> {
    this.snapshots.delete(id);
  }

  async exportSnapshot(id: string, folder: string): Promise<void> {
    const snapshot = this.snapshots.get(id);
    if (!snapshot) throw new Error(`no snapshot ${id}`);
    writeFileSync(join(folder, 'snapshot.json'), JSON.stringify(snapshot));
  }

  async importSnapshot(folder: string, _shape: SnapshotShape): Promise<SnapshotRecord> {
    const snapshot = JSON.parse(readFileSync(join(folder, 'snapshot.json'), 'utf8')) as SnapshotRecord & { facts: string[] };
    this.snapshots.set(snapshot.id, snapshot);
    return snapshot;
  }

  private labMachines(lab: string): Map<string, Machine> {
    let machines = this.machines.get(lab);
    if (!machines) this.machines.set(lab, (machines = new Map()));
    return machines;
  }

  private machineOf(lab: string, name: string): Machine {
    const machine = this.labMachines(lab).get(name);
    if (!machine) throw new Error(`(HTTP code 404) no such container - hardway-${lab}-${name}`);
    return machine;
  }
}

/** A shell that prints a prompt, echoes each line back, and exits on "exit". */
function echoTerminal(machine: string): Terminal {
  let finish: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (finish = resolve));
  let pending = '';
  const stream: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).replace(/\r$/, '');
        pending = pending.slice(newline + 1);
        if (line === 'exit') {
          stream.push(null);
          finish(0);
          break;
        }
        stream.push(`${line}\r\nroot@${machine}:~# `);
      }
      done();
    },
    final(done) {
      stream.push(null);
      finish(0);
      done();
    },
  });
  setImmediate(() => stream.push(`root@${machine}:~# `));
  return { stream, resize: async () => {}, exited };
}

/**
 * The fake provider with scripts that take time (a solution longer than the rest), counting how
 * many scripts run at once: for proving what must never overlap.
 */
export class SlowProvider extends FakeProvider {
  running = 0;
  /** The most scripts that ran at once since the last reset. */
  most = 0;

  constructor(
    private readonly solutionMs = 40,
    private readonly otherMs = 5,
  ) {
    super();
  }

  override async exec(lab: string, name: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.running += 1;
    this.most = Math.max(this.most, this.running);
    try {
      await new Promise((resolve) => setTimeout(resolve, (command.at(-1) ?? '').includes('count solve-') ? this.solutionMs : this.otherMs));
      return await super.exec(lab, name, command, options);
    } finally {
      this.running -= 1;
    }
  }

  resetCount(): void {
    this.most = 0;
  }
}

import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { sleep, withTimeout } from '../src/util/time.ts';
import { machineSecurityOptions } from './machine-security.ts';
import { machineCgroupParent } from './device-wall.ts';
import { connectEngine, probeEngine } from './engine.ts';
import { execScripts, type ScriptResult } from './exec-scripts.ts';
import { ensureMachineImage, imageTag } from './image.ts';
import { GRADER_LABEL, GRADER_TOOLS_LABEL, gradedCommand, graderContainerOptions, graderIsCurrent, graderKey, graderName } from './grader.ts';
import { publishPodImages } from './pod-images.ts';
import type { EngineState, ExecOptions, ExecResult, LabNetwork, Machine, MachineProvider, MachineSpec, PodImage, SnapshotRecord, SnapshotShape, Terminal } from './provider.ts';
import { copyVolume, exportSnapshot, importSnapshot, listSnapshots, removeSnapshot, saveSnapshot, snapshotImage, snapshotVolume } from './snapshots.ts';

export const LAB_LABEL = 'hardway.lab';
export const MACHINE_LABEL = 'hardway.machine';

export const containerName = (lab: string, machine: string): string => `hardway-${lab}-${machine}`;
export const networkName = (lab: string): string => `hardway-${lab}`;
const volumeName = (lab: string, machine: string): string => `hardway-${lab}-${machine}-containerd`;

/** Seconds a timed-out command gets to end after SIGTERM before it is killed. */
const KILL_GRACE_S = 5;

/** Lab networks are carved from 10.240.0.0/16 (or another /16 given), one /24 per lab. */
const subnetIn = (prefix: string) => (index: number): string => `${prefix}.${index}.0/24`;

/** What a room asks of every machine: memory (bytes, swap included) and processes; 0 or absent is unlimited. */
export interface MachineLimits {
  memoryBytes?: number;
  pids?: number;
}

export interface DockerProviderOptions {
  limits?: MachineLimits;
  /** The /16 lab networks are carved from, as "10.240": engines sharing one host's routing need different ones. */
  subnetPrefix?: string;
}

export class DockerProvider implements MachineProvider {
  private readonly subnetFor: (index: number) => string;

  private cgroupParent: Promise<string | undefined> | undefined;

  constructor(
    readonly docker: Docker = connectEngine(),
    readonly options: DockerProviderOptions = {},
  ) {
    this.subnetFor = subnetIn(options.subnetPrefix ?? '10.240');
  }

  probe(): Promise<EngineState> {
    return probeEngine(this.docker);
  }

  ensureMachineImage(): Promise<string> {
    return ensureMachineImage(this.docker);
  }

  machineImageTag(): string {
    return imageTag();
  }

  publishPodImages(images: PodImage[], registry: string): Promise<void> {
    return publishPodImages(this.docker, images, registry);
  }

  async createNetwork(lab: string): Promise<LabNetwork> {
    const name = networkName(lab);
    const existing = await this.findNetwork(name);
    if (existing) return existing;
    const taken = new Set((await this.docker.listNetworks()).flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet)));
    // Labs started at the same moment may pick the same free /24: the engine refuses the second, which tries the next.
    for (const index of [...Array(256).keys()].filter((i) => !taken.has(this.subnetFor(i)))) {
      const subnet = this.subnetFor(index);
      try {
        await this.docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          IPAM: { Config: [{ Subnet: subnet, Gateway: subnet.replace(/0\/24$/, '1') }] },
          Labels: { [LAB_LABEL]: lab },
        });
        return { name, subnet };
      } catch (error) {
        if (/overlaps/i.test(String((error as Error).message))) continue;
        const raced = await this.findNetwork(name);
        if (raced) return raced;
        throw error;
      }
    }
    throw new Error(`no free ${this.subnetFor(0).replace(/\.0\.0\/24$/, '.x.0/24')} subnet is left for another lab`);
  }

  private async findNetwork(name: string): Promise<LabNetwork | null> {
    try {
      const info = (await this.docker.getNetwork(name).inspect()) as { Name: string; IPAM: { Config: { Subnet: string }[] } };
      return { name: info.Name, subnet: info.IPAM.Config[0]?.Subnet ?? '' };
    } catch {
      return null;
    }
  }

  async create(spec: MachineSpec): Promise<Machine> {
    const found = (await this.list(spec.lab)).find((m) => m.name === spec.name);
    if (found) return found;
    const labels = { [LAB_LABEL]: spec.lab, [MACHINE_LABEL]: spec.name };
    const machineLabels = { ...labels, ...(spec.graderReleases ? { [GRADER_TOOLS_LABEL]: spec.graderReleases } : {}) };
    const mounts: Docker.MountConfig = [];
    const image = spec.snapshot ? snapshotImage(spec.snapshot, spec.name) : spec.image;
    if (spec.containerdVolume) {
      const volume = volumeName(spec.lab, spec.name);
      if (spec.snapshot) await copyVolume(this.docker, image, snapshotVolume(spec.snapshot, spec.name), volume, labels);
      else await this.docker.createVolume({ Name: volume, Labels: labels });
      mounts.push({ Type: 'volume', Source: volume, Target: '/var/lib/containerd' });
    }
    const cgroupParent = await this.machineCgroupParent(image);
    const container = await this.docker.createContainer({
      name: containerName(spec.lab, spec.name),
      Hostname: spec.name,
      Image: image,
      Labels: machineLabels,
      Env: ['container=docker'],
      StopSignal: 'SIGRTMIN+3',
      HostConfig: {
        // Only the capabilities and system calls the course needs (vm/security/machine.yaml says which and why).
        ...machineSecurityOptions(),
        Tmpfs: { '/run': 'rw,nosuid,nodev,exec,mode=755', '/run/lock': 'rw,nosuid,nodev,noexec', '/tmp': 'rw,nosuid,nodev,exec' },
        Binds: Object.entries(spec.readOnlyFolders ?? {}).map(([host, inside]) => `${host}:${inside}:ro`),
        // A private cgroup namespace: the machine's entrypoint remounts its own subtree read-write,
        // so its systemd, containerd and kubelet see a cgroup root of their own (as on a real server).
        CgroupnsMode: 'private',
        ...(cgroupParent ? { CgroupParent: cgroupParent } : {}),
        ...limitOptions(this.options.limits),
        Mounts: mounts,
        NetworkMode: networkName(spec.lab),
        // The kubelet will not start without a /dev/kmsg to open (its OOM watcher). The host's kernel log is
        // not the machine's: an empty one stands in (the watcher reads its end and stops; OOM kills still
        // reach the kubelet through containerd's cgroup events).
        Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/kmsg', CgroupPermissions: 'rw' }],
      },
      NetworkingConfig: {
        EndpointsConfig: { [networkName(spec.lab)]: { IPAMConfig: { IPv4Address: spec.ip }, Aliases: [spec.name] } },
      },
    } as Docker.ContainerCreateOptions);
    return { lab: spec.lab, name: spec.name, ip: spec.ip, state: 'stopped', containerId: container.id };
  }

  /** Where machines' cgroups go on this engine (a parent whose device list they cannot widen), found once. */
  private machineCgroupParent(helperImage: string): Promise<string | undefined> {
    this.cgroupParent ??= machineCgroupParent(this.docker, helperImage).catch((error: unknown) => {
      this.cgroupParent = undefined;
      throw error;
    });
    return this.cgroupParent;
  }

  async start(lab: string, name: string): Promise<void> {
    const container = this.container(lab, name);
    const info = await container.inspect();
    if (!info.State.Running) await container.start();
  }

  async stop(lab: string, name: string): Promise<void> {
    const container = this.container(lab, name);
    const info = await container.inspect();
    if (info.State.Running) await container.stop({ t: 10 });
  }

  exec(lab: string, name: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.execIn(this.container(lab, name), name, command, options);
  }

  private async execIn(container: Docker.Container, name: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const seconds = options.timeoutMs ? Math.max(1, Math.ceil(options.timeoutMs / 1000)) : 0;
    // A bounded command is run under coreutils' timeout inside the machine, so running out of time
    // stops it there (its whole process group) instead of leaving it behind.
    const cmd = seconds ? ['timeout', `--kill-after=${KILL_GRACE_S}`, String(seconds), ...command] : command;
    const exec = await container.exec({
      Cmd: cmd,
      AttachStdin: options.input !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
      WorkingDir: options.workdir,
    });
    const stream = (await exec.start({ hijack: true, stdin: options.input !== undefined })) as Duplex;
    const stdout = collect();
    const stderr = collect();
    this.docker.modem.demuxStream(stream, stdout.sink, stderr.sink);
    if (options.input !== undefined) stream.end(options.input);
    const what = `${command.join(' ').slice(0, 80)} on ${name}`;
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      }),
      seconds ? (seconds + KILL_GRACE_S + 5) * 1000 : undefined,
      what,
    ).finally(() => stream.destroy());
    const { ExitCode } = await exec.inspect();
    if (seconds && (ExitCode === 124 || ExitCode === 137)) throw new Error(`${what} did not finish within ${seconds} s and was stopped`);
    return { exitCode: ExitCode ?? -1, stdout: stdout.text(), stderr: stderr.text() };
  }

  execScripts(lab: string, name: string, scripts: string[], options: ExecOptions & { timeoutMs: number }): Promise<ScriptResult[]> {
    return execScripts((command, opts) => this.exec(lab, name, command, opts), name, scripts, options);
  }

  async gradeScripts(lab: string, name: string, scripts: string[], options: ExecOptions & { timeoutMs: number }): Promise<ScriptResult[]> {
    // a check's ssh to another machine is answered by that machine's grader: every running machine gets one
    const others = (await this.list(lab)).filter((m) => m.name !== name && m.state === 'running');
    const [grader] = await Promise.all([this.grader(lab, name), ...others.map((m) => this.grader(lab, m.name).catch(() => undefined))]);
    return execScripts((command, opts) => this.execIn(grader!, `${name}'s grader`, gradedCommand(command), opts), name, scripts, options);
  }

  private readonly graders = new Map<string, Promise<Docker.Container>>();

  /** The machine's grader, started (again) when it is missing or older than the machine's last start; one at a time per machine. */
  private grader(lab: string, name: string): Promise<Docker.Container> {
    const key = `${lab}/${name}`;
    const pending = this.graders.get(key) ?? this.currentGrader(lab, name);
    this.graders.set(key, pending);
    return pending.finally(() => {
      if (this.graders.get(key) === pending) this.graders.delete(key);
    });
  }

  private async currentGrader(lab: string, name: string): Promise<Docker.Container> {
    const machine = await this.container(lab, name).inspect();
    if (!machine.State.Running) throw new Error(`${name} is not running, so it cannot be graded`);
    const grader = this.docker.getContainer(graderName(lab, name));
    const info = await grader.inspect().catch(() => null);
    if (graderIsCurrent(info, machine)) return grader;
    if (info) await ignoreMissing(grader.remove({ force: true }));
    const image = this.machineImageTag();
    const network = (await this.docker.getNetwork(networkName(lab)).inspect()) as { Id: string };
    const spec = { lab, machine: name, machineId: machine.Id, image, releases: machine.Config.Labels[GRADER_TOOLS_LABEL], key: graderKey(network.Id) };
    const options = graderContainerOptions(spec, limitOptions(this.options.limits));
    const created = await this.docker.createContainer(options).catch(async (error: unknown) => {
      const status = (error as { statusCode?: number }).statusCode;
      // another process (lab serve beside a lab command) made it just now: use theirs once it runs
      if (status === 409) return null;
      // a lab restored from a snapshot brought here may run on a host that has not built the machine image yet
      if (status !== 404) throw error;
      await this.ensureMachineImage();
      return this.docker.createContainer(options);
    });
    if (!created) return this.startedElsewhere(grader, machine);
    await created.start();
    return created;
  }

  private async startedElsewhere(grader: Docker.Container, machine: Docker.ContainerInspectInfo): Promise<Docker.Container> {
    for (let tries = 0; tries < 50; tries++) {
      if (graderIsCurrent(await grader.inspect().catch(() => null), machine)) return grader;
      await sleep(100);
    }
    throw new Error(`the grader of ${machine.Config.Hostname} did not start`);
  }

  async terminal(lab: string, name: string, command: string[], size: { columns: number; rows: number }, options: Pick<ExecOptions, 'env' | 'workdir'> = {}): Promise<Terminal> {
    const exec = await this.container(lab, name).exec({
      Cmd: command,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      Env: Object.entries({ TERM: 'xterm-256color', ...options.env }).map(([key, value]) => `${key}=${value}`),
      WorkingDir: options.workdir,
    });
    const stream = (await exec.start({ hijack: true, stdin: true, Tty: true } as Docker.ExecStartOptions)) as Duplex;
    const resize = async (columns: number, rows: number): Promise<void> => {
      await exec.resize({ w: columns, h: rows });
    };
    const exited = new Promise<number>((resolve) => {
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        void exec.inspect().then((info) => resolve(info.ExitCode ?? 0), () => resolve(-1));
      };
      stream.once('end', finish);
      stream.once('close', finish);
      // A dockerd restart, lab down or a removed machine breaks the hijacked socket. Without a listener
      // that error would be thrown and end the process; the user of the terminal sees it on the stream too.
      stream.on('error', finish);
    });
    await resize(size.columns, size.rows).catch(() => undefined);
    return { stream, resize, exited };
  }

  async list(lab?: string): Promise<Machine[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [lab ? `${LAB_LABEL}=${lab}` : LAB_LABEL] } });
    return containers
      .map((c) => ({
        lab: c.Labels[LAB_LABEL] ?? '',
        name: c.Labels[MACHINE_LABEL] ?? '',
        ip: Object.values(c.NetworkSettings?.Networks ?? {})[0]?.IPAddress || null,
        state: c.State === 'running' ? ('running' as const) : ('stopped' as const),
        containerId: c.Id,
      }))
      .sort((a, b) => a.lab.localeCompare(b.lab) || a.name.localeCompare(b.name));
  }

  async deleteLab(lab: string): Promise<void> {
    // graders first: each lives in its machine's namespaces
    const graders = await this.docker.listContainers({ all: true, filters: { label: [`${GRADER_LABEL}=${lab}`] } });
    await Promise.all(graders.map((c) => ignoreMissing(this.docker.getContainer(c.Id).remove({ force: true }))));
    const filters = { label: [`${LAB_LABEL}=${lab}`] };
    const containers = await this.docker.listContainers({ all: true, filters });
    await Promise.all(containers.map((c) => ignoreMissing(this.docker.getContainer(c.Id).remove({ force: true, v: true }))));
    const { Volumes } = await this.docker.listVolumes({ filters });
    await Promise.all((Volumes ?? []).map((v) => ignoreMissing(this.docker.getVolume(v.Name).remove())));
    const networks = await this.docker.listNetworks({ filters });
    await Promise.all(networks.map((n) => ignoreMissing(this.docker.getNetwork(n.Id).remove())));
  }

  async saveSnapshot(lab: string, id: string, meta: Record<string, string>): Promise<SnapshotRecord> {
    const machines = await this.list(lab);
    if (machines.length === 0) throw new Error(`lab ${lab} has no machines to snapshot`);
    const sources = await Promise.all(
      machines.map(async (m) => {
        const info = await this.container(lab, m.name).inspect();
        const volume = volumeName(lab, m.name);
        return { machine: m.name, container: info.Id, volume: info.Mounts.some((mount) => mount.Name === volume) ? volume : null };
      }),
    );
    return saveSnapshot(this.docker, id, sources, meta);
  }

  listSnapshots(): Promise<SnapshotRecord[]> {
    return listSnapshots(this.docker);
  }

  removeSnapshot(id: string): Promise<void> {
    return removeSnapshot(this.docker, id);
  }

  exportSnapshot(id: string, folder: string): Promise<void> {
    return exportSnapshot(this.docker, id, folder);
  }

  importSnapshot(folder: string, shape: SnapshotShape): Promise<SnapshotRecord> {
    return importSnapshot(this.docker, folder, shape);
  }

  private container(lab: string, name: string): Docker.Container {
    return this.docker.getContainer(containerName(lab, name));
  }
}

/** A room's limits as the engine's HostConfig fields (a grader gets its machine's). */
function limitOptions(limits: MachineLimits | undefined): Docker.HostConfig {
  return {
    ...(limits?.memoryBytes ? { Memory: limits.memoryBytes, MemorySwap: limits.memoryBytes } : {}),
    ...(limits?.pids ? { PidsLimit: limits.pids } : {}),
  };
}

function collect(): { sink: PassThrough; text: () => string } {
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { sink, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function ignoreMissing(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}

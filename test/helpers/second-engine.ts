import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';

/**
 * A second Docker engine on this host, next to the main one (which it never touches): its own
 * socket, data root, exec root (with its own containerd), pidfile, cgroup parent and address pool,
 * and a default bridge of its own, made here.
 *
 * Never --bridge=none: a dockerd started so deletes the host's docker0 link (removeDefaultBridgeInterface),
 * which is the main engine's default bridge; the main dockerd then fails every container on its
 * default network ("could not find bridge docker0") until the link is made again.
 *
 * It runs with --iptables=false: two dockerds that both manage iptables rewrite each other's
 * chains (DOCKER, DOCKER-ISOLATION-*) on start, and the main one serves other labs. Without its
 * own rules, what the second engine's lab networks need is:
 *  - between labs: nothing. The FORWARD policy is DROP (the main dockerd set it), and nothing
 *    accepts traffic between the second engine's bridges, so its labs stay apart.
 *  - inside one lab: an accept. With br_netfilter loaded (bridge-nf-call-iptables=1, as Docker
 *    itself needs), frames between two machines on one bridge pass FORWARD too, and would be
 *    dropped. The helper adds its own chain, jumped to first from FORWARD, accepting only frames
 *    bridged within one bridge (`-m physdev --physdev-is-bridged`: one lab's network, as Docker's
 *    own `-i br-X -o br-X` accept), whatever their addresses: pod traffic between nodes carries pod
 *    IPs (10.200.x.y), which no subnet rule of the machines would let through. Traffic routed
 *    between two bridges is not bridged, so labs stay apart. Removed on stop.
 *  - the host to the machines (the registry push, ssh): INPUT/OUTPUT, not FORWARD: nothing needed.
 *  - the machines to the internet: no NAT (--ip-masq needs iptables). Labs have no internet anyway.
 */
export interface SecondEngine {
  /** unix:///…/docker.sock */
  host: string;
  socket: string;
  docker: Docker;
  /** The /16 its labs' networks are carved from ("10.241"), for the room's engine spec. */
  subnetPrefix: string;
  /** How long dockerd took from spawn to answering /_ping. */
  startMs: number;
  output(): string;
  /** Removes every container, network and volume it holds, stops it, and removes its folders and rules. */
  stop(): Promise<void>;
}

export interface SecondEngineOptions {
  /** The /16 of its lab networks (must differ from the main engine's labs: 10.240). */
  subnetPrefix?: string;
  /** Its default address pool (for networks made without a subnet). */
  addressPool?: string;
  timeoutMs?: number;
  /** Add the FORWARD accepts machines of one lab need (see above); false only to show they are needed. */
  labRules?: boolean;
  /** The address of its default bridge (a link this helper makes, and removes). */
  bridgeAddress?: string;
  /** Also listen on tcp://127.0.0.1:port, TLS only, trusting client certificates signed by ca.pem (Docker's --tlsverify). */
  tls?: { port: number; ca: string; cert: string; key: string };
}

export async function startSecondEngine(options: SecondEngineOptions = {}): Promise<SecondEngine> {
  const id = `hw-e2-${process.pid.toString(36)}`;
  const dataRoot = `/var/lib/${id}`;
  // Short: the socket path (and containerd's under it) must fit a unix socket's 108 bytes.
  const execRoot = `/run/${id}`;
  const socket = join(execRoot, 'docker.sock');
  const subnetPrefix = options.subnetPrefix ?? '10.241';
  const chain = id.toUpperCase();
  const bridge = id.slice(0, 15);
  const bridgeAddress = options.bridgeAddress ?? '10.252.0.1/24';
  for (const dir of [dataRoot, execRoot]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(execRoot, 'daemon.json');
  writeFileSync(config, '{}\n');
  const args = [
    `--host=unix://${socket}`,
    `--data-root=${dataRoot}`,
    `--exec-root=${execRoot}`,
    `--pidfile=${join(execRoot, 'docker.pid')}`,
    `--config-file=${config}`,
    `--bridge=${bridge}`,
    '--iptables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    `--default-address-pool=base=${options.addressPool ?? '10.251.0.0/16'},size=24`,
    `--cgroup-parent=/${id}`,
    '--storage-driver=overlay2',
    '--userland-proxy=false',
  ];
  if (options.tls) {
    const { port, ca, cert, key } = options.tls;
    args.push(`--host=tcp://127.0.0.1:${port}`, '--tlsverify', `--tlscacert=${ca}`, `--tlscert=${cert}`, `--tlskey=${key}`);
  }
  makeBridge(bridge, bridgeAddress);
  if (options.labRules !== false) addLabRules(chain);
  const started = Date.now();
  const child = spawn('dockerd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-30_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const docker = new Docker({ socketPath: socket });
  const engine: SecondEngine = {
    host: `unix://${socket}`,
    socket,
    docker,
    subnetPrefix,
    startMs: 0,
    output: () => log,
    stop: () => stopEngine(child, docker, { dataRoot, execRoot, chain, id, bridge }),
  };
  try {
    const deadline = started + (options.timeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the second dockerd exited (${child.exitCode}):\n${log.slice(-3000)}`);
      if (existsSync(socket) && (await docker.ping().then(() => true, () => false))) break;
      if (Date.now() > deadline) throw new Error(`the second dockerd did not answer within ${options.timeoutMs ?? 60_000} ms:\n${log.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await engine.stop();
    throw error;
  }
  engine.startMs = Date.now() - started;
  return engine;
}

function iptables(args: string[]): boolean {
  return spawnSync('iptables', ['-w', ...args], { stdio: 'ignore' }).status === 0;
}

function addLabRules(chain: string): void {
  removeLabRules(chain);
  iptables(['-N', chain]);
  if (!iptables(['-A', chain, '-m', 'physdev', '--physdev-is-bridged', '-j', 'ACCEPT'])) throw new Error('iptables could not add a physdev rule (is xt_physdev in the kernel?)');
  iptables(['-I', 'FORWARD', '1', '-j', chain]);
}

function removeLabRules(chain: string): void {
  while (iptables(['-D', 'FORWARD', '-j', chain]));
  iptables(['-F', chain]);
  iptables(['-X', chain]);
}

async function stopEngine(child: ChildProcess, docker: Docker, where: { dataRoot: string; execRoot: string; chain: string; id: string; bridge: string }): Promise<void> {
  if (child.exitCode === null) {
    try {
      const containers = await docker.listContainers({ all: true });
      await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
      await docker.pruneVolumes();
      await docker.pruneNetworks();
    } catch {
      // an engine that does not answer is stopped all the same
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  // Its containerd is dockerd's child, stopped with it; one killed with dockerd would be left: stop it by its pidfile.
  const containerdPid = join(where.execRoot, 'containerd', 'containerd.pid');
  if (existsSync(containerdPid)) {
    const pid = Number(readFileSync(containerdPid, 'utf8').trim());
    if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const mount of mountsUnder([where.dataRoot, where.execRoot]).reverse()) spawnSync('umount', ['-l', mount]);
  rmSync(where.dataRoot, { recursive: true, force: true });
  rmSync(where.execRoot, { recursive: true, force: true });
  removeLabRules(where.chain);
  removeCgroupParent(where.id);
  spawnSync('ip', ['link', 'delete', where.bridge], { stdio: 'ignore' });
}

function makeBridge(name: string, address: string): void {
  spawnSync('ip', ['link', 'delete', name], { stdio: 'ignore' });
  for (const args of [['link', 'add', 'name', name, 'type', 'bridge'], ['addr', 'add', address, 'dev', name], ['link', 'set', name, 'up']]) {
    const result = spawnSync('ip', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function mountsUnder(roots: string[]): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((path) => roots.some((root) => path === root || path.startsWith(`${root}/`)));
}

/** The (empty) cgroup its containers were made under, in every hierarchy. */
function removeCgroupParent(id: string): void {
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
  for (const root of roots) {
    const dir = join(root, id);
    if (!existsSync(dir)) continue;
    for (const child of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      try {
        rmdirSync(join(dir, child.name));
      } catch {
        // not empty: a process is still in it
      }
    }
    try {
      rmdirSync(dir);
    } catch {
      // not empty
    }
  }
}

import { mkdirSync } from 'node:fs';
import { artifactsRoot } from '../artifacts/cache.ts';
import { LabError } from '../util/errors.ts';
import { sleep } from '../util/time.ts';
import { Progress } from '../util/output.ts';
import type { Machine, MachineProvider } from '../../vm/provider.ts';
import { MACHINES, findMachine, machineIp, type MachineRole } from './topology.ts';
import { fromPackage } from '../util/package-root.ts';

export interface MachineHealth {
  name: string;
  systemState: string;
  failedUnits: string[];
}

export interface MachinesUp {
  health: MachineHealth[];
  /** Machines that existed but were stopped (a reboot, a dockerd restart): their cluster needs time to recover. */
  restarted: string[];
}

/**
 * Creates (or finds) the lab's network and machines, starts them, and waits for systemd to finish
 * booting. With `snapshot`, machines that do not exist yet are made from that snapshot's copies.
 */
export async function bringUpMachines(lab: string, provider: MachineProvider, snapshot?: string): Promise<MachinesUp> {
  const image = await provider.ensureMachineImage();
  const restarted = (await provider.list(lab)).filter((m) => m.state === 'stopped').map((m) => m.name);
  const progress = new Progress(`lab ${lab}`);
  progress.update('network');
  const network = await provider.createNetwork(lab);
  progress.update('machines');
  await Promise.all(MACHINES.map((role) => createAndStart(provider, lab, role, image, network.subnet, snapshot)));
  progress.update('waiting for systemd on every machine');
  const health = await Promise.all(MACHINES.map((role) => waitForBoot(provider, lab, role.name)));
  progress.update('root ssh from the jumpbox');
  await trustJumpbox(provider, lab);
  progress.update('the LAN resolver on the jumpbox');
  await useLanResolver(provider, lab, machineIp(network.subnet, findMachine('jumpbox')!));
  progress.done(`${MACHINES.length} machines up on ${network.subnet}${restarted.length ? ` (restarted: ${restarted.join(', ')})` : ''}${snapshot ? ` from snapshot ${snapshot}` : ''}`);
  return { health, restarted };
}

/** Where the jumpbox sees the cached upstream binaries, read-only: the lab's "downloads". */
export const RELEASES_IN_JUMPBOX = '/opt/hardway/releases';
/** Where the jumpbox sees the course's files (ca.conf, configs, units), read-only: the original's git clone. */
export const FILES_IN_JUMPBOX = '/opt/hardway/files';
const COURSE_FILES = fromPackage('labs', 'files');

async function createAndStart(provider: MachineProvider, lab: string, role: MachineRole, image: string, subnet: string, snapshot?: string): Promise<void> {
  mkdirSync(artifactsRoot(), { recursive: true });
  await provider.create({
    lab,
    name: role.name,
    ip: machineIp(subnet, role),
    image,
    containerdVolume: role.worker,
    readOnlyFolders: role.name === 'jumpbox' ? { [artifactsRoot()]: RELEASES_IN_JUMPBOX, [COURSE_FILES]: FILES_IN_JUMPBOX } : {},
    graderReleases: artifactsRoot(),
    ...(snapshot ? { snapshot } : {}),
  });
  await provider.start(lab, role.name);
}

/** Waits until systemd says the boot is over; "degraded" comes back with the failed units named. */
export async function waitForBoot(provider: MachineProvider, lab: string, name: string, timeoutMs = 90_000): Promise<MachineHealth> {
  const deadline = Date.now() + timeoutMs;
  let systemState = 'unknown';
  // Right after start, systemctl may find no bus yet and answer nothing: ask again until systemd answers.
  while (Date.now() < deadline) {
    const result = await provider.exec(lab, name, ['systemctl', 'is-system-running', '--wait'], { timeoutMs }).catch(async (error: unknown) => {
      const machine = (await provider.list(lab)).find((m) => m.name === name);
      if (machine?.state === 'running') throw error;
      throw new LabError(
        `machine ${name} of lab ${lab} stopped while it booted`,
        `its console says why (docker logs hardway-${lab}-${name}); with many labs at once the host's inotify limit is the usual cause: lab doctor, then lab up again`,
      );
    });
    systemState = result.stdout.trim() || 'unknown';
    if (BOOT_OVER.includes(systemState)) break;
    await sleep(250);
  }
  let failedUnits: string[] = [];
  if (systemState !== 'running') {
    const failed = await provider.exec(lab, name, ['systemctl', '--failed', '--plain', '--no-legend']);
    failedUnits = failed.stdout.split('\n').map((line) => line.split(/\s+/)[0] ?? '').filter(Boolean);
  }
  return { name, systemState, failedUnits };
}

const BOOT_OVER = ['running', 'degraded', 'maintenance', 'stopping'];

/** As in the original: root on the jumpbox reaches every machine with `ssh root@<name>`, no password. */
async function trustJumpbox(provider: MachineProvider, lab: string): Promise<void> {
  const keygen = await provider.exec(lab, 'jumpbox', [
    'sh',
    '-c',
    "test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -C root@jumpbox -f /root/.ssh/id_ed25519; cat /root/.ssh/id_ed25519.pub",
  ]);
  const publicKey = keygen.stdout.trim();
  if (keygen.exitCode !== 0 || !publicKey.startsWith('ssh-')) throw new Error(`could not make the jumpbox's ssh key: ${keygen.stderr}`);
  await Promise.all(
    MACHINES.map((role) =>
      provider.exec(lab, role.name, [
        'sh',
        '-c',
        'mkdir -p -m 700 /root/.ssh && touch /root/.ssh/authorized_keys && (grep -qxF "$KEY" /root/.ssh/authorized_keys || echo "$KEY" >> /root/.ssh/authorized_keys)',
      ], { env: { KEY: publicKey } }),
    ),
  );
}

/**
 * A machine's own resolver (Docker's, at 127.0.0.11) cannot be reached from the pods on it, so the lab
 * gives its machines a LAN resolver as a real network does: dnsmasq on the jumpbox. Docker writes
 * /etc/resolv.conf afresh at every start, so this runs at every lab up.
 */
async function useLanResolver(provider: MachineProvider, lab: string, resolverIp: string): Promise<void> {
  const started = await provider.exec(lab, 'jumpbox', ['systemctl', 'enable', '--now', 'dnsmasq']);
  if (started.exitCode !== 0) throw new LabError(`the LAN resolver (dnsmasq) did not start on the jumpbox: ${started.stderr.trim()}`, 'lab shell jumpbox, then journalctl -u dnsmasq');
  const resolvConf = `# The lab's LAN resolver (dnsmasq on the jumpbox), written by lab up.\nnameserver ${resolverIp}\noptions timeout:2 attempts:2\n`;
  await Promise.all(
    MACHINES.map(async (role) => {
      const written = await provider.exec(lab, role.name, ['sh', '-c', 'cat > /etc/resolv.conf'], { input: resolvConf });
      if (written.exitCode !== 0) throw new LabError(`could not point ${role.name} at the LAN resolver: ${written.stderr.trim()}`, 'run lab up again');
    }),
  );
}

export async function requireRunningMachine(provider: MachineProvider, lab: string, name: string): Promise<Machine> {
  const machines = await provider.list(lab);
  if (machines.length === 0) throw new LabError(`lab "${lab}" has no machines`, `start it with: lab up --lab ${lab}`);
  const machine = machines.find((m) => m.name === name);
  if (!machine) {
    throw new LabError(`lab "${lab}" has no machine "${name}"`, `pick one of: ${machines.map((m) => m.name).join(', ')}`);
  }
  if (machine.state !== 'running') throw new LabError(`machine ${name} is stopped`, `start it with: lab up --lab ${lab}`);
  return machine;
}

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryPath } from '../../../src/artifacts/cache.ts';
import { findComponent, hostPlatform } from '../../../src/artifacts/manifest.ts';
import { ensureBusyboxImage } from '../../../vm/pod-images.ts';
import { DockerProvider, LAB_LABEL } from '../../../vm/docker-provider.ts';
import { MACHINES } from '../../../src/lab/topology.ts';
import { collectLogs } from '../../../src/logs/collect.ts';
import { lab } from '../../helpers/cli.ts';
import { ensureEngine } from '../../helpers/engine.ts';

const suffix = process.pid.toString(36);
const LAB_A = `it-a-${suffix}`;
const LAB_B = `it-b-${suffix}`;

describe('lab machines on the real Docker engine', () => {
  let provider: DockerProvider;

  beforeAll(async () => {
    await ensureEngine();
    provider = new DockerProvider();
    const up = lab(['up', '--lab', LAB_A], {}, 900_000);
    expect(up.stderr + up.stdout).toMatch(/4 machines up/);
    expect(up.code).toBe(0);
  });

  afterAll(async () => {
    await provider.deleteLab(LAB_A);
    await provider.deleteLab(LAB_B);
  });

  it('brings up the four machines with their fixed addresses', async () => {
    const machines = await provider.list(LAB_A);
    expect(machines.map((m) => m.name).sort()).toEqual(MACHINES.map((m) => m.name).sort());
    expect(machines.every((m) => m.state === 'running')).toBe(true);
    const server = machines.find((m) => m.name === 'server')!;
    expect(server.ip).toMatch(/^10\.240\.\d+\.11$/);
    const status = lab(['status', '--lab', LAB_A]);
    expect(status.stdout).toMatch(/server +running +10\.240\.\d+\.11/);
  });

  it('runs systemd as PID 1, fully booted, on every machine', async () => {
    for (const { name } of MACHINES) {
      const result = await provider.exec(LAB_A, name, ['systemctl', 'is-system-running']);
      expect(result.stdout.trim(), name).toBe('running');
      const hostname = await provider.exec(LAB_A, name, ['hostname']);
      expect(hostname.stdout.trim()).toBe(name);
    }
  });

  it('machines reach each other by name, and root on the jumpbox ssh-es everywhere', async () => {
    const ping = await provider.exec(LAB_A, 'node-0', ['ping', '-c', '1', '-W', '2', 'node-1']);
    expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
    for (const target of ['server', 'node-0', 'node-1']) {
      const ssh = await provider.exec(LAB_A, 'jumpbox', ['ssh', '-o', 'BatchMode=yes', `root@${target}`, 'hostname']);
      expect(ssh.exitCode, ssh.stderr).toBe(0);
      expect(ssh.stdout.trim()).toBe(target);
    }
  });

  it('lab exec passes the exit code and output through', () => {
    const ok = lab(['exec', 'server', '--lab', LAB_A, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(ok.code).toBe(3);
    expect(ok.stdout).toBe('out\n');
    expect(ok.stderr).toBe('err\n');
  });

  it('node-0 runs a nested container with the course\'s containerd and runc', async () => {
    // The machine image has no container runtime (chapter 9 installs it): copy the pinned binaries in, as that chapter does.
    const platform = hostPlatform();
    const binaries = [
      ...['containerd', 'containerd-shim-runc-v2', 'ctr'].map((name) => ({ component: 'containerd', name, dir: '/bin' })),
      { component: 'runc', name: 'runc', dir: '/usr/local/bin' },
    ];
    for (const { component, name, dir } of binaries) {
      const file = binaryPath(findComponent(component)!, name, platform);
      const copied = await provider.exec(LAB_A, 'node-0', ['sh', '-c', `cat > ${dir}/${name} && chmod 755 ${dir}/${name}`], { input: readFileSync(file) });
      expect(copied.exitCode, copied.stderr).toBe(0);
    }
    const image = await ensureBusyboxImage(provider.docker, 'hardway/busybox:it');
    const archive = await provider.docker.getImage(image).get();
    const chunks: Buffer[] = [];
    for await (const chunk of archive as AsyncIterable<Buffer>) chunks.push(chunk);
    const copied = await provider.exec(LAB_A, 'node-0', ['sh', '-c', 'cat > /root/busybox.tar'], { input: Buffer.concat(chunks) });
    expect(copied.exitCode, copied.stderr).toBe(0);
    const script = [
      'systemd-run --unit=containerd-it /bin/containerd',
      'for i in $(seq 50); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done',
      'ctr -n k8s.io images import /root/busybox.tar >/dev/null',
      'ctr -n k8s.io run --rm docker.io/hardway/busybox:it nested /bin/sh -c "echo hello from a nested container; hostname"',
    ].join(' && ');
    const result = await provider.exec(LAB_A, 'node-0', ['sh', '-c', script], { timeoutMs: 120_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('hello from a nested container');
  });

  it('a command that runs out of time is stopped inside the machine, children too', async () => {
    const slow = provider.exec(LAB_A, 'server', ['sh', '-c', 'sleep 300 & sleep 301; wait'], { timeoutMs: 2000 });
    await expect(slow).rejects.toThrow(/did not finish within 2 s and was stopped/);
    const left = await provider.exec(LAB_A, 'server', ['sh', '-c', 'pgrep -f "sleep 30[01]" || true']);
    expect(left.stdout.trim()).toBe('');
  });

  it('reads a machine\'s journal into the log timeline', async () => {
    const entries = await collectLogs(provider, LAB_A, { since: Date.now() - 3_600_000, component: 'docker-registry' });
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.machine === 'jumpbox' && e.component === 'docker-registry')).toBe(true);
  });

  it('labs whose networks are made at the same moment get different subnets', async () => {
    const names = [`${LAB_B}-r1`, `${LAB_B}-r2`, `${LAB_B}-r3`];
    try {
      const networks = await Promise.all(names.map((name) => provider.createNetwork(name)));
      expect(new Set(networks.map((n) => n.subnet)).size).toBe(names.length);
    } finally {
      for (const name of names) await provider.deleteLab(name);
    }
  });

  it('two labs coexist, each on its own network', async () => {
    const up = lab(['up', '--lab', LAB_B], {}, 900_000);
    expect(up.code, up.stderr).toBe(0);
    const networks = await provider.docker.listNetworks({ filters: { label: [LAB_LABEL] } });
    const subnetOf = (name: string) => networks.find((n) => n.Name === `hardway-${name}`)?.IPAM?.Config?.[0]?.Subnet;
    expect(subnetOf(LAB_A)).toBeDefined();
    expect(subnetOf(LAB_B)).toBeDefined();
    expect(subnetOf(LAB_A)).not.toBe(subnetOf(LAB_B));
    const serverB = (await provider.list(LAB_B)).find((m) => m.name === 'server')!;
    const crossing = await provider.exec(LAB_A, 'jumpbox', ['ping', '-c', '1', '-W', '1', serverB.ip!]);
    expect(crossing.exitCode).not.toBe(0);
  });

  it('lab down leaves nothing with the lab\'s labels, and can run twice', async () => {
    for (let i = 0; i < 2; i++) {
      const down = lab(['down', '--lab', LAB_B]);
      expect(down.code, down.stderr).toBe(0);
    }
    const filters = { label: [`${LAB_LABEL}=${LAB_B}`] };
    expect(await provider.docker.listContainers({ all: true, filters })).toHaveLength(0);
    expect((await provider.docker.listVolumes({ filters })).Volumes ?? []).toHaveLength(0);
    expect(await provider.docker.listNetworks({ filters })).toHaveLength(0);
  });
});

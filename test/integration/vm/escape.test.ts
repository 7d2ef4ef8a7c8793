import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerProvider, containerName } from '../../../vm/docker-provider.ts';
import type { ExecResult, MachineProvider } from '../../../vm/provider.ts';
import { loadCourse, type Check } from '../../../src/engine/course.ts';
import { loadFaults, loadHealth } from '../../../src/engine/faults.ts';
import { runChecks } from '../../../src/engine/runner.ts';
import { startRoomServer, type RunningRoomServer } from '../../../src/web/room-server.ts';
import { ensureUiBuilt } from '../../../src/web/ui-build.ts';
import { ensureEngine, realLab } from '../../helpers/engine.ts';
import { fakeRoom, GiB } from '../../helpers/fake-room.ts';
import { hostCgroupFile, readNumber } from '../../helpers/machine-cgroup.ts';
import { freePort, waitFor } from '../../helpers/processes.ts';

/**
 * From inside a machine, as root, each wall of a room's threat model (README, "Threat model of a
 * room") is attacked the way a curious learner would, and must hold. Every attack is made so a
 * wall that gives way cannot harm the host: a block device is only read (512 bytes) or mounted
 * read-only, a release_agent would only write a marker file, and the fork bomb and the memory hog
 * are time-boxed systemd units of the machine.
 */
const suffix = process.pid.toString(36);
const LAB_A = `esc-a-${suffix}`;
const LAB_B = `esc-b-${suffix}`;
/** What `lab room create` gives every machine unless told otherwise (--memory 1g --pids 2048). */
const ROOM_LIMITS = { memoryBytes: GiB, pids: 2048 };
const MARKER = `/tmp/hardway-escape-${suffix}`;

describe('a room machine\'s walls, attacked from inside as root', () => {
  let provider: DockerProvider;
  let gateway: string;
  const stateBefore = process.env.HARDWAY_STATE;

  const root = (machine: string, script: string, timeoutMs = 60_000, lab = LAB_A): Promise<ExecResult> =>
    provider.exec(lab, machine, ['bash', '-c', script], { timeoutMs });
  /** A script with a heredoc in it: its lines unindented, so the heredoc's end is found. */
  const rootScript = (machine: string, script: string): Promise<ExecResult> => root(machine, script.replace(/^[ \t]+/gm, ''));

  beforeAll(async () => {
    await ensureEngine();
    // The provider a room's engine makes: the room's limits on every machine.
    provider = new DockerProvider(new Docker(), { limits: ROOM_LIMITS });
    await realLab(LAB_A, provider).up(1);
    await realLab(LAB_B, provider).up(1);
    gateway = (await root('jumpbox', "ip route | awk '/^default/ {print $3}'")).stdout.trim();
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.1$/);
  });

  afterAll(async () => {
    await provider?.deleteLab(LAB_A);
    await provider?.deleteLab(LAB_B);
    rmSync(MARKER, { force: true });
    if (stateBefore === undefined) delete process.env.HARDWAY_STATE;
    else process.env.HARDWAY_STATE = stateBefore;
  });

  it('runs with the room\'s limits and a cgroup namespace of its own', async () => {
    const info = await provider.docker.getContainer(containerName(LAB_A, 'server')).inspect();
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.Memory).toBe(ROOM_LIMITS.memoryBytes);
    expect(info.HostConfig.MemorySwap).toBe(ROOM_LIMITS.memoryBytes);
    expect(info.HostConfig.PidsLimit).toBe(ROOM_LIMITS.pids);
    expect((info.HostConfig as { CgroupnsMode?: string }).CgroupnsMode).toBe('private');
    // Every hierarchy's root, seen from inside, is the machine's own cgroup.
    const cgroups = await root('server', 'cat /proc/1/cgroup');
    expect(cgroups.stdout.trim().split('\n').every((line) => /:\/(init\.scope)?$/.test(line)), cgroups.stdout).toBe(true);
  });

  it('has a seccomp filter and none of the capabilities that reach past the machine, and keeps those the course needs', async () => {
    for (const machine of ['jumpbox', 'server', 'node-0', 'node-1']) {
      const status = (await root(machine, 'cat /proc/1/status')).stdout;
      expect(status, machine).toMatch(/^Seccomp:\s+2$/m);
      const effective = BigInt(`0x${status.match(/^CapEff:\s+([0-9a-f]+)$/m)?.[1] ?? 'x'}`);
      const has = (cap: number): boolean => ((effective >> BigInt(cap)) & 1n) === 1n;
      for (const [name, cap] of Object.entries(DROPPED_CAPABILITIES)) expect(has(cap), `${machine} has ${name}`).toBe(false);
      // Positive control: the reading is right, the capabilities systemd, runc and the CNI plugins need are there.
      for (const [name, cap] of Object.entries({ CAP_SYS_ADMIN: 21, CAP_NET_ADMIN: 12, CAP_CHOWN: 0 })) expect(has(cap), `${machine} lacks ${name}`).toBe(true);
    }
  });

  it('the host\'s clock cannot be set: date -s, clock_settime and adjtimex are refused; reading the clock works', async () => {
    const hostBefore = Date.now();
    // Each sets the time to what it already is: harmless if a wall gave way, and the host's clock is compared after.
    const result = await rootScript('server', `
      date -s "@$(date +%s)" >/dev/null 2>/tmp/date.err; echo "date-s=$? $(cat /tmp/date.err)"
      date -d "@$(date +%s)" >/dev/null && echo "date-d=ok"
      ${syscallHarness}
      my $now = pack("qq", time(), 0);
      call("clock_settime", 0, $now);
      my $timex = "\\0" x 208;
      call("adjtimex-read", $timex);
      my $set = pack("L", 0x4) . "\\0" x 204;  # ADJ_MAXERROR: the smallest change adjtimex makes
      call("adjtimex-set", $set);
      PERL`);
    expect(result.stdout, result.stderr).toMatch(/^date-s=1 .*Operation not permitted/m);
    expect(result.stdout).toMatch(/^date-d=ok$/m);
    expectHarness(result);
    expect(result.stdout).toMatch(/^clock_settime=EPERM$/m);
    expect(result.stdout).toMatch(/^adjtimex-set=EPERM$/m);
    // Positive control: adjtimex itself answers when it only reads.
    expect(result.stdout).toMatch(/^adjtimex-read=ok$/m);
    expect(Math.abs(Date.now() - hostBefore)).toBeLessThan(60_000);
  });

  it('no kernel module can be loaded and no kernel exec\'d, raw ports and /dev/mem stay shut, reboot(2) is refused', async () => {
    const result = await rootScript('server', `
      ${syscallHarness}
      my $image = "\\x7fELF" . "\\0" x 60;
      call("init_module", $image, length($image), "");
      open(my $fh, "<", "/proc/self/exe") or die;
      call("finit_module", fileno($fh), "", 0);
      call("kexec_load", 0, 0, 0, 0);
      call("reboot", 0xfee1dead, 672274793, 0);  # LINUX_REBOOT_CMD_CAD_OFF: harmless even where allowed
      call("iopl", 3) if exists $nr{iopl};
      call("ioperm", 0x80, 1, 1) if exists $nr{ioperm};
      PERL
      rm -f /root/hw-mem /root/hw-null; mknod /root/hw-mem c 1 1 && mknod /root/hw-null c 1 3 && echo mknod=ok
      head -c 1 /root/hw-mem >/dev/null 2>/tmp/mem.err; echo "dev-mem=$? $(cat /tmp/mem.err)"
      echo x > /root/hw-null && echo dev-null=ok
      rm -f /root/hw-mem /root/hw-null`);
    expectHarness(result);
    // EPERM from the capability or the filter, before the kernel looks at the image (ENOENT or ENOEXEC would mean it did).
    for (const call of ['init_module', 'finit_module', 'kexec_load', 'reboot']) expect(result.stdout, call).toMatch(new RegExp(`^${call}=EPERM$`, 'm'));
    if (process.arch === 'x64') for (const call of ['iopl', 'ioperm']) expect(result.stdout, call).toMatch(new RegExp(`^${call}=EPERM$`, 'm'));
    // Positive control: mknod works and a device the machine may use opens; the device cgroup is what refuses /dev/mem.
    expect(result.stdout).toMatch(/^mknod=ok$/m);
    expect(result.stdout).toMatch(/^dev-null=ok$/m);
    expect(result.stdout).toMatch(/^dev-mem=1 .*Operation not permitted/m);
    expect((await root('server', 'systemctl is-system-running --wait 2>/dev/null; echo alive')).stdout).toMatch(/alive/);
  });

  it('the host\'s performance counters and kernel log are out of reach; the machine\'s own journal is not', async () => {
    const result = await rootScript('server', `
      ${syscallHarness}
      my $attr = pack("LLQ", 1, 64, 0) . "\\0" x 48;  # PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK
      call("perf_event_open-host", $attr, -1, 0, -1, 0);
      call("perf_event_open-self", $attr, 0, -1, -1, 0);
      my $buf = "\\0" x 4096;
      call("syslog", 3, $buf, 4096);  # SYSLOG_ACTION_READ_ALL
      PERL
      echo "dmesg-bytes=$(dmesg 2>/dev/null | wc -c)"
      echo "kmsg-bytes=$(timeout 2 cat /dev/kmsg 2>/dev/null | wc -c)"
      rm -f /root/hw-kmsg; mknod /root/hw-kmsg c 1 11; timeout 2 head -c 1 /root/hw-kmsg >/dev/null 2>/tmp/kmsg.err; echo "kmsg-node=$? $(cat /tmp/kmsg.err)"; rm -f /root/hw-kmsg
      mkdir -p /root/hw-proc && mount -t proc proc /root/hw-proc && grep -q '^Name:' /root/hw-proc/self/status && echo fresh-proc=ok
      timeout 2 head -c 1 /root/hw-proc/kmsg >/dev/null 2>/tmp/pk.err; echo "proc-kmsg=$? $(cat /tmp/pk.err)"
      umount /root/hw-proc; rmdir /root/hw-proc
      journalctl -b -n 1 --no-pager -q >/dev/null && echo journal=ok`);
    expectHarness(result);
    expect(result.stdout).toMatch(/^perf_event_open-host=EPERM$/m);
    expect(result.stdout).toMatch(/^perf_event_open-self=EPERM$/m);
    expect(result.stdout).toMatch(/^syslog=EPERM$/m);
    // Positive control for dmesg: the host's own log is not empty.
    expect(spawnSync('dmesg', { encoding: 'utf8' }).stdout.length).toBeGreaterThan(0);
    expect(result.stdout).toMatch(/^dmesg-bytes=0$/m);
    // The kernel log the kubelet's OOM watcher opens is an empty stand-in.
    expect(result.stdout).toMatch(/^kmsg-bytes=0$/m);
    expect(result.stdout).toMatch(/^kmsg-node=1 .*Operation not permitted/m);
    // Positive control: a fresh /proc mounts and reads; its kmsg is what refuses.
    expect(result.stdout).toMatch(/^fresh-proc=ok$/m);
    expect(result.stdout).toMatch(/^proc-kmsg=1 .*Operation not permitted/m);
    expect(result.stdout).toMatch(/^journal=ok$/m);
  });

  it('no block device of the host can be opened or mounted, even after mknod and widening the device list', async () => {
    // The host's real disks (not partitions' holders): their names and major:minor, as the host sees them.
    const disks = readdirSync('/sys/class/block').map((name) => ({ name, dev: readFileSync(join('/sys/class/block', name, 'dev'), 'utf8').trim() }));
    expect(disks.length).toBeGreaterThan(0);
    const script = [
      'breach=0',
      ...disks.map(({ name, dev }) => {
        const [major, minor] = dev.split(':');
        return [
          `[ -e /dev/${name} ] && { echo "PRESENT /dev/${name}"; breach=1; }`,
          `rm -f /root/hw-${name}; mknod /root/hw-${name} b ${major} ${minor} || { echo "NOMKNOD ${name}"; breach=1; }`,
          // What Docker's device rules allow is in the machine's own cgroup, which it may try to widen.
          `[ -w /sys/fs/cgroup/devices/devices.allow ] && echo "b ${dev} r" > /sys/fs/cgroup/devices/devices.allow 2>/dev/null && echo "WIDENED ${name}"`,
          `dd if=/root/hw-${name} of=/dev/null bs=512 count=1 2>/dev/null && { echo "OPENED ${name}"; breach=1; }`,
          `mkdir -p /mnt/hw-${name} && mount -o ro /root/hw-${name} /mnt/hw-${name} 2>/dev/null && { echo "MOUNTED ${name}"; umount /mnt/hw-${name}; breach=1; }`,
          `[ -w /sys/fs/cgroup/devices/devices.deny ] && echo "b ${dev} rwm" > /sys/fs/cgroup/devices/devices.deny 2>/dev/null`,
          `rm -f /root/hw-${name}; rmdir /mnt/hw-${name}`,
        ].join('\n');
      }),
      'for d in /dev/sda /dev/sda1 /dev/vda /dev/vda1 /dev/nvme0n1 /dev/nvme0n1p1 /dev/xvda1; do mkdir -p /mnt/hw && mount -o ro "$d" /mnt/hw 2>/dev/null && { echo "MOUNTED $d"; umount /mnt/hw; breach=1; }; done',
      'exit $breach',
    ].join('\n');
    const result = await root('server', script);
    expect(result.stdout, 'the machine could reach a host disk').not.toMatch(/OPENED|MOUNTED|PRESENT/);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    // On cgroup v1 the machine owns a writable devices cgroup: only its parent's closed list (vm/device-wall.ts) bounds it.
    expect(result.stdout, 'the machine widened its own device list').not.toMatch(/WIDENED/);
  });

  it('no release_agent of the host can be set or fires: the cgroup namespace hides every hierarchy\'s root', async () => {
    // If a release_agent were ever set and fired, it would run on the host as root: it only writes a marker.
    const { GraphDriver } = await provider.docker.getContainer(containerName(LAB_A, 'server')).inspect();
    const merged = (GraphDriver.Data as { MergedDir?: string }).MergedDir ?? '';
    expect(merged, 'the machine\'s filesystem as the host sees it').not.toBe('');
    const agent = join(merged, 'root', 'hw-agent');
    const written = await provider.exec(LAB_A, 'server', ['sh', '-c', 'cat > /root/hw-agent && chmod 755 /root/hw-agent'], { input: `#!/bin/sh\necho "released $1" > ${MARKER}\n` });
    expect(written.exitCode, written.stderr).toBe(0);
    const script = `
      breach=0
      for f in $(find /sys/fs/cgroup -maxdepth 2 -name release_agent); do
        echo '${agent}' > "$f" 2>/dev/null && { echo "WROTE $f"; breach=1; }
      done
      for options in rdma memory pids devices cpu,cpuacct freezer blkio net_cls,net_prio perf_event hugetlb none,name=hwesc; do
        d=$(mktemp -d /root/cg.XXXX)
        for extra in "" ",release_agent=${agent}"; do
          mount -t cgroup -o "$options$extra" cgroup "$d" 2>/dev/null || continue
          if [ -e "$d/release_agent" ]; then
            echo "ROOT $options$extra"
            echo '${agent}' > "$d/release_agent" 2>/dev/null && { echo "WROTE $options"; breach=1; }
          fi
          # A cgroup that empties with notify_on_release set is what makes the kernel run the agent.
          mkdir -p "$d/hwesc" && echo 1 > "$d/hwesc/notify_on_release" && sh -c "echo \\$\\$ > $d/hwesc/cgroup.procs; true"
          sleep 0.3; rmdir "$d/hwesc" 2>/dev/null
          umount "$d"
        done
        rmdir "$d"
      done
      exit $breach`;
    const result = await root('server', script);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(existsSync(MARKER), `a release_agent ran on the host: ${existsSync(MARKER) ? readFileSync(MARKER, 'utf8') : ''}`).toBe(false);
    expect(result.stdout).not.toMatch(/WROTE|ROOT/);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
  });

  it('no Docker socket is in the machine, and no Docker API answers on the host\'s addresses', async () => {
    const found = await root('server', "find / \\( -path /proc -o -path /sys \\) -prune -o \\( -name docker.sock -o -name dockershim.sock \\) -print 2>/dev/null; true");
    expect(found.stdout.trim()).toBe('');
    const hostAddresses = [gateway, ...hostIpv4s().filter((ip) => ip !== '127.0.0.1')];
    const probes = hostAddresses.flatMap((ip) => [2375, 2376].map((port) => `timeout 3 bash -c '</dev/tcp/${ip}/${port}' 2>/dev/null && echo "OPEN ${ip}:${port}"`));
    // Fail closed: the same probe does reach something that listens (the jumpbox's own ssh).
    const result = await root('server', [...probes, "timeout 3 bash -c '</dev/tcp/jumpbox/22' && echo CONTROL-OK"].join('\n'));
    expect(result.stdout).toContain('CONTROL-OK');
    expect(result.stdout).not.toMatch(/OPEN/);
  });

  it('the instructor\'s API refuses a machine without the instructor\'s token, on a room server beyond loopback', async () => {
    const world = fakeRoom();
    const { room } = await world.open();
    const { token: learnerToken } = room.join(room.row.join_code, 'mallory', 'test');
    let server: RunningRoomServer | undefined;
    try {
      server = await startRoomServer({ room, host: '0.0.0.0', port: await freePort(), uiDir: await ensureUiBuilt(), log: () => {} });
      const base = `http://${gateway}:${server.port}`;
      const code = (path: string, headers: string[] = [], method = 'GET') =>
        `curl -s -o /dev/null -w '${path} %{http_code}\\n' -X ${method} ${headers.map((h) => `-H '${h}'`).join(' ')} ${base}${path}`;
      const script = [
        code('/room/api/info'),
        code('/board/api/state'),
        code('/board/api/state', ['Authorization: Bearer not-the-token']),
        code('/board/api/state', [`Authorization: Bearer ${learnerToken}`]),
        code('/board/api/export', [`Authorization: Bearer ${learnerToken}`]),
        code('/board/api/end', [`Authorization: Bearer ${learnerToken}`, `Origin: ${base}`, 'Content-Type: application/json'], 'POST'),
      ].join('\n');
      const result = await root('jumpbox', script);
      const answers = Object.fromEntries(result.stdout.trim().split('\n').map((l) => l.split(' ')));
      // The machine does reach the room server (so the refusals below are the token's doing).
      expect(answers['/room/api/info'], result.stdout + result.stderr).toBe('200');
      const board = result.stdout.trim().split('\n').filter((l) => l.startsWith('/board/'));
      expect(board).toHaveLength(5);
      for (const line of board) expect(line, line).toMatch(/ 40[13]$/);
      expect(room.ended).toBe(false);
    } finally {
      await server?.close();
      await room.close();
    }
  });

  it('another lab\'s machines cannot be reached, by ping or TCP', async () => {
    const others = (await provider.list(LAB_B)).map((m) => m.ip!).filter(Boolean);
    expect(others).toHaveLength(4);
    const probe = (ip: string) => `ping -c 1 -W 1 ${ip} >/dev/null 2>&1 && echo "PING ${ip}"; timeout 3 bash -c '</dev/tcp/${ip}/22' 2>/dev/null && echo "TCP ${ip}"`;
    const own = (await provider.list(LAB_A)).find((m) => m.name === 'server')!.ip!;
    // (ends with true: a last probe's timeout exit 124 would read as the exec itself timing out)
    const result = await root('jumpbox', [probe(own), ...others.map(probe), 'true'].join('\n'));
    // Fail closed: the probes reach the lab's own server.
    expect(result.stdout).toContain(`PING ${own}`);
    expect(result.stdout).toContain(`TCP ${own}`);
    for (const ip of others) expect(result.stdout).not.toContain(ip);
  });

  it('a fork bomb stays inside its machine\'s pids limit; the host and the other machines stay responsive', async () => {
    const container = containerName(LAB_A, 'node-1');
    const current = await hostCgroupFile(provider.docker, container, 'pids', 'pids.current');
    expect(readNumber(await hostCgroupFile(provider.docker, container, 'pids', 'pids.max'))).toBe(ROOM_LIMITS.pids);
    const inside = await root('node-1', 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max');
    expect(inside.stdout.trim()).toBe(String(ROOM_LIMITS.pids));
    // Time-boxed by the machine's systemd (which kills a unit without forking); niced for the shared host.
    const started = await root('node-1', "systemd-run --unit=hw-forkbomb -p TasksMax=infinity -p Nice=19 -p RuntimeMaxSec=20 -p KillSignal=SIGKILL bash -c 'f() { f | f & }; f; sleep 30'");
    expect(started.exitCode, started.stderr).toBe(0);
    try {
      const peak = await waitFor(async () => {
        const n = readNumber(current);
        return n >= ROOM_LIMITS.pids * 0.95 ? n : null;
      }, 15_000, () => `node-1 has ${readFileSync(current, 'utf8').trim()} processes`);
      expect(peak).toBeLessThanOrEqual(ROOM_LIMITS.pids);
      // While it runs: the host forks, and another machine of the lab answers.
      const hostStart = Date.now();
      expect(spawnSync('true').status).toBe(0);
      expect(Date.now() - hostStart).toBeLessThan(2000);
      const otherStart = Date.now();
      expect((await root('node-0', 'echo alive')).stdout.trim()).toBe('alive');
      expect(Date.now() - otherStart).toBeLessThan(10_000);
      console.log(`escape test: fork bomb at ${peak}/${ROOM_LIMITS.pids} processes; host fork ${Date.now() - hostStart} ms, node-0 exec ${Date.now() - otherStart} ms`);
    } finally {
      await waitFor(async () => readNumber(current) < 200, 90_000, () => `node-1 still has ${readFileSync(current, 'utf8').trim()} processes`);
    }
    await root('node-1', 'systemctl reset-failed hw-forkbomb 2>/dev/null; true');
    expect((await root('node-1', 'echo alive')).stdout.trim()).toBe('alive');
  }, 180_000);

  it('a memory hog is OOM-killed inside its machine\'s memory limit; the machine carries on', async () => {
    const container = containerName(LAB_A, 'node-0');
    const v1 = existsSync('/sys/fs/cgroup/memory');
    const limit = await hostCgroupFile(provider.docker, container, 'memory', v1 ? 'memory.limit_in_bytes' : 'memory.max');
    expect(readNumber(limit)).toBe(ROOM_LIMITS.memoryBytes);
    // tail keeps the one endless "line" in memory: 4 GiB asked, 1 GiB allowed (swap included).
    const hog = await root('node-0', "systemd-run --unit=hw-memhog --wait -p Nice=19 bash -c 'head -c 4G /dev/zero | tail > /dev/null'; systemctl show hw-memhog -p ExecMainStatus -p Result", 120_000);
    // Killed by SIGKILL (137 from the pipeline's tail): only the OOM killer sends it here.
    expect(hog.stdout, hog.stdout + hog.stderr).toMatch(/ExecMainStatus=137/);
    if (v1) {
      const peak = readNumber(await hostCgroupFile(provider.docker, container, 'memory', 'memory.max_usage_in_bytes'));
      expect(peak).toBeLessThanOrEqual(ROOM_LIMITS.memoryBytes);
      // cgroup v1's failcnt and oom_kill counters stay 0 on recent kernels: the kernel's own log says whose limit killed what.
      const { Id } = await provider.docker.getContainer(container).inspect();
      const log = spawnSync('dmesg', { encoding: 'utf8' }).stdout;
      expect(log).toMatch(new RegExp(`oom_memcg=[^,]*${Id}[^\\n]*task=tail`));
    } else {
      const events = readFileSync(await hostCgroupFile(provider.docker, container, 'memory', 'memory.events'), 'utf8');
      expect(Number(events.match(/oom_kill (\d+)/)?.[1] ?? 0), events).toBeGreaterThan(0);
    }
    const info = await provider.docker.getContainer(container).inspect();
    expect(info.State.Running).toBe(true);
    expect((await root('node-0', 'systemctl reset-failed hw-memhog 2>/dev/null; echo alive')).stdout.trim()).toBe('alive');
  }, 180_000);

  it('a learner\'s forged kubectl, systemctl, openssl, jq, curl, ssh… pass no check: checks run with the grader\'s own programs, which the forgeries do fool when run in the machine', async () => {
    // Every check the course has, each with the machine it runs on: chapters' steps, health, guards, faults' fix checks.
    // Everything graded, as the learner sees it graded: each step (all its checks), each health check and guard,
    // each fault's fix; every check with the machine it runs on.
    const health = loadHealth();
    const graded: { name: string; checks: Check[] }[] = [
      ...loadCourse().flatMap((c) => c.steps.map((step) => ({ name: `step ${c.number}/${step.id}`, checks: step.checks.map((check) => ({ ...check, machine: check.machine ?? step.machine })) }))),
      ...[...health.health, ...health.guards].map((check, i) => ({ name: `health/guard ${i}: ${check.run.trim().split('\n')[0]}`, checks: [check] })),
      ...loadFaults().map((f) => ({ name: `fault ${f.id}'s fix`, checks: f.fixed })),
    ];
    const checks = graded.flatMap((g) => g.checks);
    /** What passes: each graded thing whose checks all pass. */
    const passing = async (on: MachineProvider): Promise<string[]> => {
      const outcome = await runChecks(on, LAB_A, checks);
      const failed = new Set(outcome.failures.map((f) => f.check));
      return graded.filter((g) => g.checks.every((check) => !failed.has(check))).map((g) => `${g.name}: ${g.checks.map((c) => c.run.trim()).join(' && ')}`);
    };
    // The machine's own exec, as checks ran before the grader: the same provider without gradeScripts.
    const inMachine = Object.assign(Object.create(provider) as DockerProvider, { gradeScripts: undefined });
    const before = await passing(provider);
    expect(await passing(inMachine)).toEqual(before);
    // Each tool a check runs answers "ok" and succeeds, first on PATH and over the system's own file; curl's rc file
    // prints "ok" whatever the answer; the downloaded API server says the version a check looks for.
    const TOOLS = ['kubectl', 'systemctl', 'openssl', 'etcdctl', 'etcdutl', 'crictl', 'jq', 'curl', 'ssh', 'sha256sum', 'cmp'];
    const forge = `set -e
      printf '#!/bin/sh\\necho ok\\nexit 0\\n' > /root/forged && chmod +x /root/forged
      for t in ${TOOLS.join(' ')}; do
        cp /root/forged /usr/local/bin/$t
        if [ -e /usr/bin/$t ]; then mount --bind /root/forged /usr/bin/$t; fi
      done
      echo 'write-out = "ok"' > /root/.curlrc
      mkdir -p /root/downloads/controller && printf '#!/bin/sh\\necho Kubernetes v1.34.4\\n' > /root/downloads/controller/kube-apiserver && chmod +x /root/downloads/controller/kube-apiserver
      systemctl is-active no-such-unit`;
    const unforge = `for t in ${TOOLS.join(' ')}; do umount /usr/bin/$t 2>/dev/null; rm -f /usr/local/bin/$t; done; rm -rf /root/forged /root/.curlrc /root/downloads`;
    const machines = ['jumpbox', 'server', 'node-0', 'node-1'];
    try {
      for (const machine of machines) {
        const forged = await root(machine, forge);
        expect(forged.stdout.trim(), `${machine}: ${forged.stderr}`).toBe('ok');
      }
      const fooled = (await passing(inMachine)).filter((check) => !before.includes(check));
      expect(fooled.length, `the forgeries fool no check run in the machine: they prove nothing`).toBeGreaterThan(10);
      expect(fooled, 'a forged kubectl, systemctl and openssl each fool some check run in the machine').toEqual(
        expect.arrayContaining([expect.stringMatching(/kubectl/), expect.stringMatching(/systemctl/), expect.stringMatching(/openssl/)]),
      );
      expect((await passing(provider)).filter((check) => !before.includes(check)), 'checks the forgeries made pass through the grader').toEqual([]);
      console.info(`forged tools: ${fooled.length} of ${graded.length} graded things pass when checked in the machine, none through the grader`);
    } finally {
      for (const machine of machines) await root(machine, unforge);
    }
  }, 300_000);
});

/** Capabilities no machine may have (numbers from linux/capability.h). */
const DROPPED_CAPABILITIES = {
  CAP_DAC_READ_SEARCH: 2, CAP_LINUX_IMMUTABLE: 9, CAP_IPC_OWNER: 15, CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_PACCT: 20,
  CAP_SYS_BOOT: 22, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25, CAP_SYS_TTY_CONFIG: 26, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35, CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39,
};

/** System call numbers, by the host's architecture (the machine's is the host's). */
const SYSCALLS: Record<string, Record<string, number>> = {
  x64: { getpid: 39, init_module: 175, finit_module: 313, kexec_load: 246, reboot: 169, iopl: 172, ioperm: 173, perf_event_open: 298, syslog: 103, adjtimex: 159, clock_settime: 227 },
  arm64: { getpid: 172, init_module: 105, finit_module: 273, kexec_load: 104, reboot: 142, perf_event_open: 241, syslog: 116, adjtimex: 171, clock_settime: 112 },
};

/**
 * A heredoc'd Perl prelude (perl-base is in every Debian system) whose call(NAME, ARGS) makes the raw
 * system call and prints NAME=ok or NAME=<errno name>; a label after a dash names a variant of one call.
 * Its first line proves the harness itself reaches the kernel (getpid through syscall is perl's $$).
 */
const syscallHarness = (() => {
  const numbers = SYSCALLS[process.arch];
  if (!numbers) throw new Error(`the escape test knows no system call numbers for ${process.arch}: add them to SYSCALLS`);
  return `perl <<'PERL'
use strict; use Errno;
our %nr = (${Object.entries(numbers).map(([k, v]) => `${k} => ${v}`).join(', ')});
my %name = reverse map { my $c = Errno->can($_); ($_, $c ? $c->() : -1) } qw(EPERM ENOENT ENOSYS EINVAL EFAULT ENOEXEC EBADF EACCES EBUSY);
sub call { my ($label, @args) = @_; (my $call = $label) =~ s/-.*//; my $r = syscall($nr{$call}, @args);
  print "$label=", ($r >= 0 ? "ok" : ($name{$! + 0} // "errno" . ($! + 0))), "\\n"; }
print "harness=", (syscall($nr{getpid}) == $$ ? "ok" : "broken"), "\\n";`;
})();

function expectHarness(result: ExecResult): void {
  expect(result.stdout, `the system call harness did not run: ${result.stderr}`).toMatch(/^harness=ok$/m);
}

/** The host's IPv4 addresses (Docker's bridges included). */
function hostIpv4s(): string[] {
  const out = spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}

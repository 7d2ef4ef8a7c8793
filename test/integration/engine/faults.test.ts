import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DockerProvider } from '../../../vm/docker-provider.ts';
import { DEFAULT_HEALTH_FILE, type Fault, gradeFix, injectFault, loadFaults, loadHealth, runActions, waitForFix, checkHealth } from '../../../src/engine/faults.ts';
import { loadMapLayout } from '../../../src/map/layout.ts';
import { readClusterMap } from '../../../src/map/status.ts';
import { collectLogs } from '../../../src/logs/collect.ts';
import { coverage, loadCatalog } from '../../../src/logs/catalog.ts';
import type { LogEntry } from '../../../src/logs/parse.ts';
import { findComponent } from '../../../src/artifacts/manifest.ts';
import { runChecks } from '../../../src/engine/runner.ts';
import { ensureArtifacts } from '../../helpers/artifacts.ts';
import { lab } from '../../helpers/cli.ts';
import { ensureEngine, realLab, stopEngine } from '../../helpers/engine.ts';
import { startEngine } from '../../../src/host/setup.ts';
import { startServer } from '../../../src/web/server.ts';

const LAB = `it-fault-${process.pid.toString(36)}`;
const STATE = `/tmp/hardway-fault-state-${process.pid}`;
// HARDWAY_FAULTS=a,b narrows a developer's run to new faults; CI leaves it unset and runs every one.
const only = process.env.HARDWAY_FAULTS?.split(',');
const faults = loadFaults().filter((f) => !only || only.includes(f.id));
const health = loadHealth();
const guardFunctions = (parse(readFileSync(DEFAULT_HEALTH_FILE, 'utf8')) as { guard_functions: string }).guard_functions;

/** Polls the merged timeline until a line of the component contains the text; that line, or null. */
async function waitForSignature(provider: DockerProvider, since: number, component: string, text: string, timeoutMs = 90_000): Promise<LogEntry | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const entries = await collectLogs(provider, LAB, { since, component });
    const found = entries.find((e) => e.message.includes(text) || e.raw.includes(text));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  return null;
}

const catalog = loadCatalog();
const mapLayout = loadMapLayout([...new Set(health.health.map((h) => h.component))]);

/**
 * During an exercise the live map may say only what the learner could observe: each red box explained by its
 * labs/health.yaml words, nothing of the fault itself. Which boxes the fault turned red is printed for the notes.
 */
async function expectMapShowsOnlyObservations(provider: DockerProvider, fault: Fault, failingChecks: object[]): Promise<void> {
  const map = await readClusterMap(provider, LAB, health, mapLayout);
  const shown = JSON.stringify(map);
  for (const secret of [fault.id, fault.title, ...fault.hints, ...fault.solve.map((a) => a.run)]) expect(shown, `the map names the fault: ${secret}`).not.toContain(secret);
  const words = new Set(health.health.map((h) => h.fail));
  const red = map.boxes.filter((b) => b.state === 'failing');
  for (const box of red) expect(words.has(box.message!), `${box.id}: "${box.message}" is not a health check's words`).toBe(true);
  const failingComponents = new Set(health.health.filter((h) => failingChecks.includes(h)).map((h) => h.component));
  console.log(`map during ${fault.id}: red ${red.map((b) => b.id).join(', ') || 'nothing'}; health checks failing for ${[...failingComponents].join(', ') || 'nothing'}`);
}
/** When the lab began: the healthy cluster's own warnings are those from here to the first fault. */
let builtFrom = 0;

describe('every fault, end to end on one real cluster', () => {
  const provider = new DockerProvider();

  beforeAll(async () => {
    process.env.HARDWAY_STATE = STATE;
    await ensureEngine();
    await ensureArtifacts();
    builtFrom = Date.now();
    // Replayed, never restored: the catalog's coverage below is measured on a freshly built cluster's logs.
    await realLab(LAB, provider).up(realLab(LAB, provider).clusterChapter, { snapshots: false });
    const healthy = await checkHealth(provider, LAB, health);
    expect(healthy.failures.map((f) => `${f.check.fail} ${f.output}`)).toEqual([]);
  }, 900_000);

  afterAll(async () => {
    await provider.deleteLab(LAB);
  });

  it('the log catalog explains at least 90 % of a healthy cluster\'s distinct warnings and errors', async () => {
    const entries = await collectLogs(provider, LAB, { since: builtFrom, maxAgeMs: Date.now() - builtFrom + 60_000, maxLines: 20_000 });
    const measured = coverage(catalog, entries);
    console.log(`log catalog: ${measured.explained} of ${measured.distinct} distinct warnings and errors of a freshly built cluster explained (${((100 * measured.explained) / Math.max(1, measured.distinct)).toFixed(0)} %)`);
    for (const line of measured.unexplained) console.log(`  not in the catalog: ${line}`);
    expect(measured.distinct).toBeGreaterThan(10);
    expect(measured.explained / measured.distinct).toBeGreaterThanOrEqual(0.9);
  });

  it('the workers run the pinned containerd, runc and CNI plugins, and the kubelet takes its cgroup driver from containerd', async () => {
    const version = (name: string) => findComponent(name)!.version;
    for (const node of ['node-0', 'node-1']) {
      const script = [
        'containerd --version; runc --version; /opt/cni/bin/bridge 2>&1 | head -1',
        'echo "runtimeconfig-errors $(journalctl -u kubelet --no-pager | grep -c "RuntimeConfig from runtime service failed")"',
        'journalctl -u kubelet --no-pager | grep -o "Using cgroup driver setting received from the CRI runtime.*" | tail -1',
      ].join('; ');
      const result = await provider.exec(LAB, node, ['bash', '-c', script], { timeoutMs: 30_000 });
      expect(result.stdout, node).toContain(`containerd github.com/containerd/containerd/v2 ${version('containerd')}`);
      expect(result.stdout, node).toContain(`runc version ${version('runc').replace(/^v/, '')}`);
      expect(result.stdout, node).toContain(`CNI bridge plugin ${version('cni-plugins')}`);
      expect(result.stdout, node).toContain('runtimeconfig-errors 0');
      expect(result.stdout, node).toMatch(/cgroupDriver="systemd"/);
    }
  });

  it('pods resolve like on a normal cluster, and busybox\'s tools behave like upstream\'s', { timeout: 240_000 }, async () => {
    // The script goes to the pod's shell on its standard input, so no quoting stands between it and busybox's sh.
    const inPod = (script: string) =>
      provider.exec(LAB, 'jumpbox', ['bash', '-c', 'kubectl run "dns-probe-$RANDOM" --rm -i --quiet --restart=Never --image=busybox:latest --command -- sh -s'], { input: `${script}\n`, timeoutMs: 180_000, workdir: '/root', env: { HOME: '/root' } });
    const result = await inPod([
      'nslookup kubernetes.default.svc.cluster.local | grep -q 10.32.0.1 && echo cluster-name-ok',
      'nslookup server. | grep -q "Address: 10.240" && echo machine-name-ok',
      'start=$(date +%s); nslookup example.com > /tmp/out 2>&1; grep -q NXDOMAIN /tmp/out && echo "outside-nxdomain-in $(( $(date +%s) - start ))s"',
      'wget -qO- -T 5 http://nginx | grep -q "Welcome to nginx" && echo wget-ok',
      // Debian's busybox builds the small nc (no -z): a request through it is what every build can do
      'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 nginx 80 | grep -q "Welcome to nginx" && echo nc-ok',
      'ping -c 1 -W 3 10.32.0.10 >/dev/null 2>&1; echo ping-ran-$?',
    ].join('\n'));
    expect(result.stdout, result.stderr).toMatch(/cluster-name-ok/);
    expect(result.stdout).toMatch(/machine-name-ok/);
    expect(result.stdout).toMatch(/outside-nxdomain-in [0-2]s/);
    expect(result.stdout).toMatch(/wget-ok/);
    expect(result.stdout).toMatch(/nc-ok/);
    // a ClusterIP does not answer ping on any cluster (kube-proxy's rules carry TCP and UDP only): ping itself must run, not crash
    expect(result.stdout).toMatch(/ping-ran-[01]/);
    const corefile = await provider.exec(LAB, 'jumpbox', ['bash', '-c', 'kubectl -n kube-system get configmap coredns -o jsonpath="{.data.Corefile}"'], { workdir: '/root', env: { HOME: '/root' } });
    expect(corefile.stdout).toMatch(/forward \. \/etc\/resolv\.conf/);
    expect(corefile.stdout).toMatch(/^\s*loop\s*$/m);
  });

  it('has at least one fault for each of the main components', () => {
    const components = new Set(loadFaults().map((f) => f.component));
    for (const component of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'containerd', 'kube-proxy', 'cni', 'coredns', 'certificates', 'workload']) {
      expect(components.has(component), component).toBe(true);
    }
  });

  for (const fault of faults) {
    it(`${fault.id}: inject, signature in lab logs, fix check fails, solution, healthy`, { timeout: 400_000 }, async () => {
      const since = Date.now() - 1000;
      let solvedAlready = false;
      try {
        const injected = await injectFault(provider, LAB, fault);
        expect(injected.ok, injected.output).toBe(true);
        for (const signature of fault.signatures) {
          const line = await waitForSignature(provider, since, signature.component, signature.contains);
          expect(line, `"${signature.contains}" from ${signature.component}`).not.toBeNull();
          const known = catalog.lookup(line!);
          expect(known, `the catalog does not explain ${fault.id}'s signature line: ${line!.raw}`).not.toBeNull();
          expect(known!.expected, `the catalog calls ${fault.id}'s signature line noise: ${line!.raw}`).toBe(false);
        }
        const broken = await gradeFix(provider, LAB, fault, health);
        expect(broken.passed, 'the fix check passed while the fault was in').toBe(false);
        await expectMapShowsOnlyObservations(provider, fault, broken.failures.map((f) => f.check));
        const solved = await runActions(provider, LAB, fault.solve);
        solvedAlready = true;
        expect(solved.ok, solved.output).toBe(true);
        const fixed = await waitForFix(provider, LAB, fault, health);
        expect(fixed.failures.map((f) => `${f.check.fail} ${f.output}`)).toEqual([]);
      } finally {
        // One failing fault must not leave the next one a broken cluster.
        if (!solvedAlready) await runActions(provider, LAB, fault.solve);
      }
    });
  }

  // The guards (labs/health.yaml): each passes on the course's own cluster, and fails, with its own verdict, on
  // each shortcut it is there to catch. A server guard's flag reading is tested beside fake processes: each case
  // runs the guard in a new PID namespace on the server (its own ps and /proc) beside a process named
  // kube-apiserver (bash under that name, so it takes any arguments) carrying the case's flags. Restarting the
  // real API server once per case cost eight minutes.
  const guardFailing = (words: string) => {
    const guard = health.guards.find((g) => g.fail.includes(words));
    expect(guard, `no guard fails with "${words}"`).toBeDefined();
    return guard!;
  };
  const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  type FakeCase = { args: string[]; passes: boolean; says?: RegExp };
  /** Each case's verdict (and what the guard printed), all cases in one exec. */
  async function besideFakeApiServer(guard: { run: string }, cases: FakeCase[]): Promise<void> {
    // the fake is bash: which flags are switches, the guard learns from the course's own kube-apiserver
    const script = `dir=$(mktemp -d) && cp /bin/bash "$dir/kube-apiserver" && cat > "$dir/guard.sh" || exit 1
      export GUARD_BINARY=$(readlink /proc/$(pgrep -xo kube-apiserver)/exe)
      verdict() {
        unshare --pid --fork --mount-proc bash -c '
          dir=$1; shift
          "$dir/kube-apiserver" -c "sleep 60; :" kube-apiserver "$@" &
          until ps -C kube-apiserver >/dev/null; do sleep 0.05; done
          bash "$dir/guard.sh"' _ "$dir" "$@" > "$dir/out" 2>&1 && passed=PASSED || passed=FAILED
        echo "$passed $(base64 -w0 < "$dir/out")"
      }
      ${cases.map((c) => `verdict ${c.args.map(shellQuote).join(' ')}`).join('\n')}
      rm -rf "$dir"`;
    const result = await provider.exec(LAB, 'server', ['bash', '-c', script], { input: guard.run, timeoutMs: 30_000 + 10_000 * cases.length });
    const verdicts = result.stdout.trim().split('\n');
    expect(verdicts, result.stderr).toHaveLength(cases.length);
    cases.forEach(({ args, passes, says }, i) => {
      const [passed, out] = verdicts[i]!.split(' ');
      const printed = Buffer.from(out ?? '', 'base64').toString();
      expect(passed, `kube-apiserver ${args.join(' ')}: ${printed}`).toBe(passes ? 'PASSED' : 'FAILED');
      // a failure must be the guard's own verdict, not a case that could not be set up
      if (!passes) expect(printed, `kube-apiserver ${args.join(' ')}`).toMatch(says!);
    });
  }
  /** The guard through the engine's own grading (one batch per machine): passed, or its failure. */
  const gradeGuard = async (guard: (typeof health.guards)[number]) => (await runChecks(provider, LAB, [guard])).failures[0];
  const expectGuardPasses = async (guard: (typeof health.guards)[number]) => {
    const failure = await gradeGuard(guard);
    expect(failure, `the course's own cluster fails the guard: ${failure?.output}`).toBeUndefined();
  };
  const expectGuardFails = async (guard: (typeof health.guards)[number], says: RegExp) => {
    const failure = await gradeGuard(guard);
    expect(failure, 'the guard passed').toBeDefined();
    expect(failure!.check.fail).toBe(guard.fail);
    expect(failure!.output).toMatch(says);
  };

  it('the authorization guard reads the API server\'s modes: exactly Node and RBAC in any order and either flag form pass, anything beside them fails', { timeout: 120_000 }, async () => {
    const guard = guardFailing('Node and RBAC authorization');
    await expectGuardPasses(guard);
    // the switches, as the guards read them from the course's kube-apiserver --help
    const switches = await provider.exec(LAB, 'server', ['bash', '-c', `${guardFunctions}\nbinary_switches /usr/local/bin/kube-apiserver`]);
    expect(switches.stdout.split('\n')).toEqual(expect.arrayContaining(['--allow-privileged', '--anonymous-auth', '--profiling', '-h', '--help']));
    expect(switches.stdout).not.toMatch(/^(--audit-log-path|--authorization-mode|--enable-admission-plugins|-v)$/m);
    const says = /^authorization modes:/m;
    await besideFakeApiServer(guard, [
      { args: ['--authorization-mode=Node,RBAC'], passes: true },
      { args: ['--authorization-mode=RBAC,Node'], passes: true },
      { args: ['--authorization-mode', 'RBAC,Node'], passes: true },
      { args: ['--authorization_mode=Node', '--authorization-mode=RBAC'], passes: true },
      { args: ['--authorization-mode="Node",RBAC'], passes: true },
      // a bare switch takes no value; a bare flag that takes one swallows the next argument (pflag)
      { args: ['--allow-privileged', '--authorization-mode=Node,RBAC'], passes: true },
      { args: ['--audit-log-path', '--authorization-mode=AlwaysAllow', '--authorization-mode=Node,RBAC'], passes: true },
      { args: ['--audit-log-path', '--authorization-mode=Node,RBAC'], passes: false, says },
      { args: ['--authorization-mode=Node,RBAC', '--profiling', '--authorization-mode=AlwaysAllow'], passes: false, says },
      { args: ['--authorization-mode=Node,RBAC,AlwaysAllow'], passes: false, says },
      { args: ['--authorization-mode=Node,RBAC', '--authorization-mode=AlwaysAllow'], passes: false, says },
      { args: ['--authorization-mode=Node,RBAC', '--authorization_mode', 'AlwaysAllow'], passes: false, says },
      { args: ['--authorization-mode=Node,RBAC,ABAC'], passes: false, says },
      { args: ['--authorization-mode=Webhook,Node,RBAC'], passes: false, says },
      { args: ['--authorization-mode=Node'], passes: false, says },
      { args: ['--authorization-mode="Node,RBAC"'], passes: false, says },
      { args: ['--', '--authorization-mode=Node,RBAC'], passes: false, says },
      { args: ['--authorization-config=/etc/kubernetes/authz.yaml'], passes: false, says },
      { args: [], passes: false, says },
    ]);
  });

  it('the NodeRestriction guard reads the admission plugins as the API server computes them: enabled and not disabled, either flag form, repeated flags add up', { timeout: 120_000 }, async () => {
    const guard = guardFailing('NodeRestriction');
    await expectGuardPasses(guard);
    const says = /^admission plugins/m;
    await besideFakeApiServer(guard, [
      { args: ['--enable-admission-plugins=NamespaceLifecycle,NodeRestriction,LimitRanger'], passes: true },
      { args: ['--enable-admission-plugins', 'NodeRestriction'], passes: true },
      { args: ['--enable_admission_plugins=NodeRestriction'], passes: true },
      { args: ['--enable-admission-plugins=LimitRanger', '--enable-admission-plugins=NodeRestriction'], passes: true },
      { args: ['--enable-admission-plugins="NodeRestriction"', '--disable-admission-plugins=LimitRanger'], passes: true },
      { args: ['--admission-control=NamespaceLifecycle,NodeRestriction'], passes: true },
      // in both lists the API server refuses to start ("overlapped"); disabled alone, it is off (off by default)
      { args: ['--enable-admission-plugins=NodeRestriction', '--disable-admission-plugins=NodeRestriction'], passes: false, says },
      { args: ['--enable-admission-plugins=NodeRestriction', '--disable-admission-plugins', 'LimitRanger,NodeRestriction'], passes: false, says },
      { args: ['--enable-admission-plugins=NodeRestriction', '--disable_admission_plugins="NodeRestriction"'], passes: false, says },
      { args: ['--enable-admission-plugins=NamespaceLifecycle,LimitRanger'], passes: false, says },
      { args: ['--enable-admission-plugins="LimitRanger,NodeRestriction"'], passes: false, says },
      { args: ['--admission-control=NamespaceLifecycle'], passes: false, says },
      { args: ['--admission-control=NodeRestriction', '--enable-admission-plugins=NodeRestriction'], passes: false, says },
      { args: ['--', '--enable-admission-plugins=NodeRestriction'], passes: false, says },
      { args: [], passes: false, says },
    ]);
  });

  it('the kubelet CA guard: the API server must name a CA file to verify the kubelets with, the last flag given counting', { timeout: 120_000 }, async () => {
    const guard = guardFailing('without verifying their certificates');
    await expectGuardPasses(guard);
    const says = /kubelet certificate authority:/;
    const ca = '/var/lib/kubernetes/ca.crt';
    await besideFakeApiServer(guard, [
      { args: [`--kubelet-certificate-authority=${ca}`], passes: true },
      { args: ['--kubelet_certificate_authority', ca], passes: true },
      { args: ['--kubelet-certificate-authority=/nonexistent', `--kubelet-certificate-authority=${ca}`], passes: true },
      { args: [`--kubelet-certificate-authority=${ca}`, '--kubelet-certificate-authority='], passes: false, says },
      { args: ['--kubelet-certificate-authority=/nonexistent'], passes: false, says },
      { args: ['--kubelet-certificate-authority=/var/lib/kubernetes'], passes: false, says },
      { args: [], passes: false, says },
    ]);
  });

  it('the encryption guard reads a Secret it writes back raw from the etcd the API server names: the flag must name a file, either form, the last one counting', { timeout: 120_000 }, async () => {
    const guard = guardFailing('not stored encrypted');
    const started = Date.now();
    await expectGuardPasses(guard);
    console.log(`encryption guard on the real cluster: ${Date.now() - started} ms`);
    const etcd = '--etcd-servers=http://127.0.0.1:2379';
    const config = '/var/lib/kubernetes/encryption-config.yaml';
    try {
      await besideFakeApiServer(guard, [
        { args: [etcd, `--encryption-provider-config=${config}`], passes: true },
        { args: ['--etcd-servers', 'http://127.0.0.1:2379', '--encryption-provider-config', config], passes: true },
        { args: [etcd, '--encryption_provider_config=/nonexistent', `--encryption-provider-config=${config}`], passes: true },
        { args: ['--etcd-servers=http://127.0.0.1:2399', '--etcd-servers-overrides=/secrets#http://127.0.0.1:2379', `--encryption-provider-config=${config}`], passes: true },
        { args: [etcd, `--encryption-provider-config=${config}`, '--encryption-provider-config=/nonexistent'], passes: false, says: /not a file: \/nonexistent/ },
        { args: [etcd, '--encryption-provider-config=/var/lib/kubernetes'], passes: false, says: /not a file/ },
        { args: [etcd, `--encryption-provider-config=${config}`, '--encryption-provider-config='], passes: false, says: /given no encryption provider config/ },
        { args: [etcd, '--', `--encryption-provider-config=${config}`], passes: false, says: /given no encryption provider config/ },
        { args: [etcd], passes: false, says: /given no encryption provider config/ },
        // the probe is looked for where the API server's flags say it keeps Secrets
        { args: ['--etcd-servers=http://127.0.0.1:2399', `--encryption-provider-config=${config}`], passes: false, says: /stored in etcd \(http:\/\/127.0.0.1:2399\) as: nothing found/ },
        { args: [etcd, '--etcd-prefix=/elsewhere', `--encryption-provider-config=${config}`], passes: false, says: /as: nothing found/ },
      ]);
    } finally {
      // the cases that looked in the wrong place left their probes behind
      await provider.exec(LAB, 'server', ['etcdctl', 'del', '--prefix', '/registry/secrets/kube-system/hardway-encryption-probe-']);
    }
    const left = await provider.exec(LAB, 'server', ['etcdctl', 'get', '--prefix', '--keys-only', '/registry/secrets/kube-system/hardway-']);
    expect(left.stdout.trim()).toBe('');
  });

  it('the encryption guard fails on a running API server whose providers list starts with identity (Secrets written in plain text)', { timeout: 180_000 }, async () => {
    const guard = guardFailing('not stored encrypted');
    // A second real API server, on port 6444 beside the course's, with the same flags but an identity-first
    // config (the course's aescbc key second, so it reads what the first wrote), no endpoint reconciler (it must
    // not touch the kubernetes Service's endpoints) and its own audit log; run in its own PID and mount
    // namespaces, where /root/admin.kubeconfig points at it and it is the only kube-apiserver. The guard runs
    // there; leaving the namespace kills it.
    const script = `set -e
      dir=$(mktemp -d) && cat > "$dir/guard.sh"
      key=$(awk '/secret:/ {print $2}' /var/lib/kubernetes/encryption-config.yaml)
      printf '%s\\n' 'kind: EncryptionConfiguration' 'apiVersion: apiserver.config.k8s.io/v1' 'resources:' '  - resources: [secrets]' \\
        '    providers:' '      - identity: {}' '      - aescbc:' '          keys:' '            - name: key1' "              secret: $key" > "$dir/identity-first.yaml"
      sed 's|https://127.0.0.1:6443|https://127.0.0.1:6444|' /root/admin.kubeconfig > "$dir/admin.kubeconfig"
      pid=$(pgrep -xo kube-apiserver) && exe=$(readlink /proc/$pid/exe)
      tail -z -n +2 /proc/$pid/cmdline | grep -zv -e '^--encryption-provider-config=' -e '^--audit-log-path=' > "$dir/args"
      printf '%s\\0' --secure-port=6444 --endpoint-reconciler-type=none --encryption-provider-config="$dir/identity-first.yaml" --audit-log-path="$dir/audit.log" >> "$dir/args"
      unshare --pid --fork --mount-proc bash -c '
        dir=$1
        mount --bind "$dir/admin.kubeconfig" /root/admin.kubeconfig
        xargs -0 -a "$dir/args" "$2" > "$dir/apiserver.log" 2>&1 &
        start=$(date +%s%N)
        until [ "$(kubectl get --raw /readyz --kubeconfig /root/admin.kubeconfig 2>/dev/null)" = ok ]; do
          [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt 120 ] || { echo "the second API server did not get ready:"; tail -5 "$dir/apiserver.log"; exit 2; }
          sleep 0.5
        done
        echo "second API server ready in $(( ($(date +%s%N) - start) / 1000000 )) ms"
        bash "$dir/guard.sh" && echo GUARD-PASSED || echo GUARD-FAILED' _ "$dir" "$exe"
      rm -rf "$dir"`;
    const started = Date.now();
    const result = await provider.exec(LAB, 'server', ['bash', '-c', script], { input: guard.run, timeoutMs: 170_000 });
    console.log(`identity-first case: ${Date.now() - started} ms; ${result.stdout.split('\n')[0]}`);
    expect(result.stdout, result.stderr).toContain('GUARD-FAILED');
    // the guard's own verdict: it read the probe back in identity's plain form (k8s, a NUL, then protobuf)
    expect(result.stdout).toMatch(/stored in etcd \(http:\/\/127.0.0.1:2379\) as: k8s\./);
    // and the course's API server is still the one answering, with encryption
    await expectGuardPasses(guard);
  });

  it('the binding guard fails while anonymous users, or every signed-in user, may do everything or read Secrets, however granted', { timeout: 120_000 }, async () => {
    const guard = guardFailing('Anonymous users');
    await expectGuardPasses(guard);
    const kubectl = (args: string) => provider.exec(LAB, 'server', ['bash', '-c', `kubectl --kubeconfig /root/admin.kubeconfig ${args}`], { timeoutMs: 30_000 });
    const cases = [
      { make: 'create clusterrolebinding guard-anonymous-admin --clusterrole=cluster-admin --user=system:anonymous', remove: 'delete clusterrolebinding guard-anonymous-admin', says: /allowed: system:anonymous \* \*; system:anonymous get secrets/ },
      { make: 'create clusterrolebinding guard-unauthenticated-admin --clusterrole=cluster-admin --group=system:unauthenticated', remove: 'delete clusterrolebinding guard-unauthenticated-admin', says: /allowed: system:anonymous \*/ },
      // a role of one's own: only the authorizer's answer tells
      {
        make: 'create clusterrole guard-secret-reader --verb=get,list --resource=secrets && kubectl --kubeconfig /root/admin.kubeconfig create clusterrolebinding guard-everyone-reads --clusterrole=guard-secret-reader --group=system:authenticated',
        remove: 'delete clusterrolebinding guard-everyone-reads --ignore-not-found && kubectl --kubeconfig /root/admin.kubeconfig delete clusterrole guard-secret-reader',
        says: /allowed: hardway-guard-nobody get secrets/,
      },
      // cluster-admin in one namespace: the cluster-wide questions say no, the bindings tell
      { make: 'create rolebinding guard-anonymous-default-admin -n default --clusterrole=cluster-admin --group=system:unauthenticated', remove: 'delete rolebinding guard-anonymous-default-admin -n default', says: /cluster-admin bound to: RoleBinding\/guard-anonymous-default-admin Group\/system:unauthenticated/ },
    ];
    for (const { make, remove, says } of cases) {
      const made = await kubectl(make);
      expect(made.exitCode, made.stderr).toBe(0);
      try {
        await expectGuardFails(guard, says);
      } finally {
        await kubectl(remove);
      }
    }
    await expectGuardPasses(guard);
  });

  it('the TLS guard finds skipped verification in any kubeconfig a machine keeps or a component was given, however YAML spells true, and in a kubectl alias', { timeout: 180_000 }, async () => {
    const guard = guardFailing('skips TLS verification');
    let started = Date.now();
    await expectGuardPasses(guard);
    console.log(`TLS guard on the real cluster: ${Date.now() - started} ms`);
    const cluster = (skip: string) => `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://server.kubernetes.local:6443\n    ${skip}\n  name: x\n`;
    const cases: { machine: 'jumpbox' | 'server' | 'node-0' | 'node-1'; file: string; content: string; process?: string; passes?: boolean }[] = [
      { machine: 'jumpbox', file: '/root/skip.kubeconfig', content: cluster('insecure-skip-tls-verify: true') },
      { machine: 'node-0', file: '/var/lib/kubelet/skip.kubeconfig', content: cluster('insecure-skip-tls-verify: true') },
      { machine: 'jumpbox', file: '/root/.kube/other', content: cluster('insecure-skip-tls-verify: "true"') },
      { machine: 'server', file: '/etc/kubernetes/skip.yaml', content: cluster('insecure-skip-tls-verify:   yes # for now') },
      { machine: 'node-1', file: '/var/lib/kube-proxy/skip.json', content: '{"clusters": [{"name": "x", "cluster": {"server": "https://server.kubernetes.local:6443", "insecure-skip-tls-verify": true}}]}' },
      // a kubeconfig anywhere, given to a running component (a fake kubelet here)
      { machine: 'node-1', file: '/tmp/hidden.kubeconfig', content: cluster('insecure-skip-tls-verify: True'), process: 'kubelet' },
      { machine: 'jumpbox', file: '/root/.bash_aliases', content: "alias kubectl='kubectl --insecure-skip-tls-verify'\n" },
      // not skipping, or only once typed
      { machine: 'node-0', file: '/var/lib/kubelet/verify.kubeconfig', content: cluster('insecure-skip-tls-verify: false'), passes: true },
      { machine: 'jumpbox', file: '/root/.bash_history', content: 'kubectl --insecure-skip-tls-verify get nodes\n', passes: true },
      { machine: 'jumpbox', file: '/root/.bash_aliases', content: "alias kubectl='kubectl --insecure-skip-tls-verify=false'\n", passes: true },
    ];
    for (const { machine, file, content, process: fake, passes } of cases) {
      // a fake component: bash under the component's name, given the file as its --kubeconfig, for the case's time
      const script = `printf %s "$1" > "$2"${fake ? ` && cp /bin/bash /tmp/${fake} && (/tmp/${fake} -c 'sleep 60; :' ${fake} --kubeconfig="$2" > /dev/null 2>&1 & echo $! > /tmp/fake.pid)` : ''}`;
      const made = await provider.exec(LAB, machine, ['bash', '-c', script, '_', content, file], { timeoutMs: 10_000 });
      expect(made.exitCode, made.stderr).toBe(0);
      try {
        started = Date.now();
        if (passes) await expectGuardPasses(guard);
        else await expectGuardFails(guard, new RegExp(`${machine}: .*${file.replace(/\./g, '\\.')}`));
        console.log(`TLS guard, ${machine} ${file}: ${Date.now() - started} ms`);
      } finally {
        await provider.exec(LAB, machine, ['bash', '-c', `rm -f "$1"${fake ? ` && kill $(cat /tmp/fake.pid) && rm -f /tmp/${fake} /tmp/fake.pid` : ''}`, '_', file]);
      }
    }
    await expectGuardPasses(guard);
  });

  it('every guard\'s cost on the healthy cluster, one at a time', { timeout: 120_000 }, async () => {
    for (const guard of health.guards) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        expect(await gradeGuard(guard)).toBeUndefined();
        times.push(Date.now() - started);
      }
      console.log(`guard cost ${guard.machine} ${times.join('/')} ms: ${guard.fail.slice(0, 60)}`);
    }
    const started = Date.now();
    expect((await checkHealth(provider, LAB, health)).failures).toEqual([]);
    console.log(`every health check and guard at once (lab check's grading beside a fault's own checks): ${Date.now() - started} ms`);
  });

  it('the CLI: break, check says what is broken, hint, giveup restores, and check has nothing left to grade', { timeout: 300_000 }, () => {
    const env = { HARDWAY_STATE: STATE };
    const broken = lab(['break', 'scheduler-stopped', '--lab', LAB], env, 120_000);
    expect(broken.code, broken.stderr).toBe(0);
    expect(broken.stdout).toMatch(/Symptom: New pods stay Pending/);
    const again = lab(['break', '--random', '--lab', LAB], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has a fault/);
    const check = lab(['check', '--lab', LAB], env, 120_000);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/kube-scheduler is not running on the server/);
    expect(lab(['hint', '--lab', LAB], env).stdout).toMatch(/^Hint 1 of 3: /);
    const giveup = lab(['giveup', '--lab', LAB], env, 240_000);
    expect(giveup.code, giveup.stderr).toBe(0);
    expect(giveup.stdout).toMatch(/systemctl start kube-scheduler/);
    expect(lab(['faults']).stdout).toMatch(/etcd-stopped +etcd/);
  });

  // Last: it restarts the Docker engine under the lab (and every other container on it).
  it('after a dockerd restart (a laptop rebooting), lab serve keeps answering and one lab up <last> brings the cluster back healthy', { timeout: 900_000 }, async () => {
    const ui = mkdtempSync(join(tmpdir(), 'hardway-ui-'));
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>lab</title>');
    const server = await startServer({ engine: realLab(LAB, provider), host: '127.0.0.1', port: 0, uiDir: ui });
    try {
      const auth = { headers: { Authorization: `Bearer ${server.token}` } };
      await stopEngine();
      const whileDown = await fetch(`http://127.0.0.1:${server.port}/api/state`, auth);
      expect(whileDown.status).toBeGreaterThanOrEqual(500);
      expect(((await whileDown.json()) as { error: string }).error).toBeTruthy();
      await startEngine();
      expect((await fetch(`http://127.0.0.1:${server.port}/api/state`, auth)).status).toBe(200);
      expect((await provider.list(LAB)).every((m) => m.state === 'stopped')).toBe(true);

      const last = realLab(LAB, provider).clusterChapter;
      const up = lab(['up', String(last), '--lab', LAB], { HARDWAY_STATE: STATE }, 900_000);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toMatch(/restarted: jumpbox, server, node-0, node-1|restarted: /);
      expect(up.stderr).toMatch(/recovering after a restart/);
      const healthy = await checkHealth(provider, LAB, health);
      expect(healthy.failures.map((f) => `${f.check.fail} ${f.output}`)).toEqual([]);
    } finally {
      await server.close();
      await ensureEngine();
    }
  });
});

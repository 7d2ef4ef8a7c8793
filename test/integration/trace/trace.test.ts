import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabEngine } from '../../../src/engine/lab.ts';
import type { Trace, TraceEntry } from '../../../src/trace/model.ts';
import { ensureArtifacts } from '../../helpers/artifacts.ts';
import { lab } from '../../helpers/cli.ts';
import { ensureEngine, realLab, upToCluster } from '../../helpers/engine.ts';

const LAB = `it-trace-${process.pid.toString(36)}`;
const state = { HARDWAY_STATE: mkdtempSync(join(tmpdir(), 'hardway-trace-state-')) };
const KUBECTL = 'kubectl --kubeconfig /root/admin.kubeconfig';

/**
 * A real cluster (every chapter's solution replayed, so the API server runs with chapter 8's audit
 * policy): a learner creates a 2-replica Deployment and a Service, and the trace tells the control
 * loops in the order they ran, from what the components really wrote.
 */
describe('lab trace on a real cluster', () => {
  let engine: LabEngine;

  beforeAll(async () => {
    process.env.HARDWAY_STATE = state.HARDWAY_STATE;
    await ensureEngine();
    await ensureArtifacts();
    engine = realLab(LAB);
    await upToCluster(engine);
  }, 1_200_000);

  afterAll(async () => {
    await engine?.down();
  }, 120_000);

  const server = async (script: string): Promise<string> => {
    const result = await engine.provider.exec(LAB, 'server', ['bash', '-c', script], { timeoutMs: 180_000, workdir: '/root' });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    return result.stdout;
  };

  it('follows a Deployment from the learner\'s create to the EndpointSlice that lists its pods', { timeout: 400_000 }, async () => {
    await server(`${KUBECTL} create deployment traced --image=nginx:latest --replicas=2 && ${KUBECTL} expose deployment traced --port 80`);
    await server(`${KUBECTL} rollout status deployment/traced --timeout=150s`);
    // The endpointslice-controller writes once both pods are ready: wait for the slice that lists two.
    await server(`for i in $(seq 60); do [ "$(${KUBECTL} get endpointslices -l kubernetes.io/service-name=traced -o jsonpath='{range .items[*].endpoints[*]}{.targetRef.name}{"\\n"}{end}' | grep -c traced-)" = 2 ] && exit 0; sleep 1; done; exit 1`);

    const trace = await engine.trace('deployment/traced');
    const at = (test: (e: TraceEntry) => boolean, what: string): number => {
      const i = trace.entries.findIndex(test);
      expect(i, `${what} is missing from the trace:\n${story(trace)}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const all = (test: (e: TraceEntry) => boolean) => trace.entries.flatMap((e, i) => (test(e) ? [i] : []));
    const wrote = (e: TraceEntry) => e.source === 'audit';

    const create = at((e) => wrote(e) && e.actor === 'kubectl (admin)' && e.verb === 'create' && e.object === 'Deployment default/traced', "the learner's create");
    const replicaSet = at((e) => wrote(e) && e.actor === 'deployment-controller' && e.verb === 'create' && e.object.startsWith('ReplicaSet default/traced-'), "the deployment-controller's ReplicaSet");
    const pods = all((e) => wrote(e) && e.actor === 'replicaset-controller' && e.verb === 'create' && e.object.startsWith('Pod default/traced-'));
    const bindings = all((e) => wrote(e) && e.actor === 'kube-scheduler' && e.verb === 'bind');
    const podNames = trace.objects.filter((o) => o.kind === 'Pod').map((o) => o.name);
    expect(podNames, story(trace)).toHaveLength(2);
    const running = podNames.map((name) => at((e) => wrote(e) && /^kubelet node-[01]$/.test(e.actor) && e.object === `Pod default/${name}` && / status: Running/.test(e.summary), `the kubelet reporting ${name} Running`));
    const slice = at((e) => wrote(e) && e.actor === 'endpointslice-controller' && e.object.startsWith('EndpointSlice default/traced-') && podNames.every((n) => e.summary.includes(n)), "the endpointslice-controller's EndpointSlice listing both pods");

    expect(pods, story(trace)).toHaveLength(2);
    expect(bindings, story(trace)).toHaveLength(2);
    expect(replicaSet).toBeGreaterThan(create);
    expect(Math.min(...pods)).toBeGreaterThan(replicaSet);
    // Each pod is bound after it is created and reported Running after it is bound (a warm scheduler may bind
    // the first pod before the ReplicaSet has made the second).
    for (const [p, name] of podNames.entries()) {
      const made = at((e) => pods.includes(trace.entries.indexOf(e)) && e.summary.includes(name), `the replicaset-controller's create of ${name}`);
      const bound = at((e) => bindings.includes(trace.entries.indexOf(e)) && e.summary.startsWith(`bound Pod ${name} `), `the binding of ${name}`);
      expect(bound, story(trace)).toBeGreaterThan(made);
      expect(running[p], story(trace)).toBeGreaterThan(bound);
    }
    expect(slice).toBeGreaterThan(Math.max(...running));
    // Each kubelet that runs a pod reports as its own node.
    const nodes = new Set(running.map((i) => trace.entries[i]!.actor));
    const bound = new Set(bindings.map((i) => trace.entries[i]!.summary.replace(/^.* to /, 'kubelet ')));
    expect(nodes).toEqual(bound);
    // The runtime's lane: each pod's sandbox, found by the id containerd answered with.
    expect(trace.entries.filter((e) => /^containerd node-/.test(e.actor) && /returns sandbox id/.test(e.raw))).toHaveLength(2);
    expect(trace.unreadable).toEqual([]);
  });

  it('prints the same story from the command line, each entry with its raw record under --raw', () => {
    const result = lab(['trace', 'deployment/traced', '--lab', LAB, '--raw'], state, 120_000);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const created = lines.findIndex((l) => /kubectl \(admin\) +wrote created Deployment traced/.test(l));
    expect(created, result.stdout).toBeGreaterThan(0);
    expect(JSON.parse(lines[created + 1]!.trim())).toMatchObject({ verb: 'create', objectRef: { resource: 'deployments', name: 'traced' } });
    expect(result.stdout).toMatch(/replicaset-controller +wrote created Pod traced-/);
  });

  it('shows why a pod is never scheduled', { timeout: 120_000 }, async () => {
    await server(`${KUBECTL} run greedy --image=nginx:latest --overrides='{"spec":{"containers":[{"name":"greedy","image":"nginx:latest","resources":{"requests":{"cpu":"64"}}}]}}'`);
    await server(`for i in $(seq 30); do ${KUBECTL} get events --field-selector involvedObject.name=greedy,reason=FailedScheduling -o name | grep -q . && exit 0; sleep 1; done; exit 1`);
    const trace = await engine.trace('pod/greedy');
    const refused = trace.entries.filter((e) => e.actor === 'kube-scheduler' && e.problem);
    expect(refused.map((e) => e.summary).join('\n'), story(trace)).toMatch(/Insufficient cpu/);
    expect(trace.entries.some((e) => e.verb === 'bind')).toBe(false);
  });
});

const story = (trace: Trace): string => trace.entries.filter((e) => e.source !== 'log').map((e) => `${new Date(e.time).toISOString().slice(11, 23)} ${e.actor} ${e.summary}`).join('\n');

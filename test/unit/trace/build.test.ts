import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { actorOfUser, parseAuditLog } from '../../../src/trace/audit.ts';
import { buildTrace, type TraceSources } from '../../../src/trace/build.ts';
import { parseEventList } from '../../../src/trace/events.ts';
import { parseTarget, type Trace } from '../../../src/trace/model.ts';
import type { LogEntry } from '../../../src/logs/parse.ts';

// Recorded from a real lab (chapter 14, our binaries, 2026-12-01 08:35): `kubectl create deployment web --replicas=2`,
// `kubectl expose deployment web`, a busybox that exits 1 (bad), a pod asking for 64 CPUs (huge).
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/trace/${name}`, import.meta.url), 'utf8');
const json = (name: string) => JSON.parse(fixture(name)) as Record<string, unknown>;
const items = (name: string) => (json(name).items as Record<string, unknown>[]).map((item) => ({ ...item, kind: item.kind ?? kindOf(name) }));
const kindOf = (name: string) => ({ 'nodes.json': 'Node', 'leases.json': 'Lease' })[name];

function sources(): TraceSources {
  return {
    audit: parseAuditLog(fixture('audit.log')),
    events: parseEventList(json('events-new.json'), json('events-core.json')),
    objects: [...items('objects.json'), ...items('nodes.json'), ...items('leases.json')],
    logs: json('logs.json') as unknown as LogEntry[],
  };
}

const trace = (ref: string): Trace => buildTrace(parseTarget(ref)!, sources());
const writes = (t: Trace) => t.entries.filter((e) => e.source === 'audit');
const firstIndex = (t: Trace, test: (e: Trace['entries'][number]) => boolean) => t.entries.findIndex(test);

describe('parsing what the lab records', () => {
  it('reads every audit line the policy wrote, with who wrote it', () => {
    const records = parseAuditLog(fixture('audit.log'));
    expect(records.length).toBe(fixture('audit.log').trim().split('\n').length);
    expect(parseAuditLog('{"torn": ')).toEqual([]);
    expect(actorOfUser('system:serviceaccount:kube-system:deployment-controller')).toBe('deployment-controller');
    expect(actorOfUser('system:node:node-1')).toBe('kubelet node-1');
    expect(actorOfUser('system:kube-scheduler')).toBe('kube-scheduler');
    expect(actorOfUser('admin', 'kubectl/v1.35.8 (linux/amd64)')).toBe('kubectl (admin)');
  });

  it('reads Events through both API groups once each, with their reporter', () => {
    const events = parseEventList(json('events-new.json'), json('events-core.json'));
    expect(events.length).toBe((json('events-new.json').items as unknown[]).length);
    const scheduled = events.find((e) => e.reason === 'Scheduled' && e.regarding.name.startsWith('web-'));
    expect(scheduled?.controller).toBe('default-scheduler');
    const core = parseEventList(json('events-core.json'));
    expect(core.find((e) => e.reason === 'BackOff')).toMatchObject({ type: 'Warning', controller: 'kubelet', instance: 'node-0' });
  });

  it('names kinds the way kubectl does', () => {
    expect(parseTarget('deploy/web', 'x')).toEqual({ kind: 'deployment', name: 'web', namespace: 'x' });
    expect(parseTarget('no/node-0')).toEqual({ kind: 'node', name: 'node-0' });
    expect(parseTarget('configmap/x')).toBeNull();
    expect(parseTarget('web')).toBeNull();
  });
});

describe('a deployment\'s trace', () => {
  const t = trace('deployment/web');

  it('follows the owner references and the Service that selects its pods', () => {
    const kinds = t.objects.map((o) => `${o.kind} ${o.name}`);
    expect(kinds).toContain('Deployment web');
    expect(kinds).toContain('ReplicaSet web-ff44d897b');
    expect(kinds).toContain('Pod web-ff44d897b-6sgbp');
    expect(kinds).toContain('Pod web-ff44d897b-hx4sj');
    expect(kinds).toContain('Service web');
    expect(kinds.some((k) => k.startsWith('EndpointSlice web-'))).toBe(true);
    expect(kinds.some((k) => k.includes('bad') || k.includes('huge'))).toBe(false);
  });

  it('tells the control loops in the order they ran', () => {
    const create = firstIndex(t, (e) => e.source === 'audit' && e.actor === 'kubectl (admin)' && e.verb === 'create' && e.object === 'Deployment default/web');
    const rs = firstIndex(t, (e) => e.actor === 'deployment-controller' && e.verb === 'create' && e.object.startsWith('ReplicaSet'));
    const pods = t.entries.flatMap((e, i) => (e.actor === 'replicaset-controller' && e.verb === 'create' && e.object.startsWith('Pod') ? [i] : []));
    const bindings = t.entries.flatMap((e, i) => (e.actor === 'kube-scheduler' && e.verb === 'bind' ? [i] : []));
    const running = ['node-0', 'node-1'].map((n) => firstIndex(t, (e) => e.actor === `kubelet ${n}` && e.source === 'audit' && / status: Running/.test(e.summary)));
    const slice = firstIndex(t, (e) => e.actor === 'endpointslice-controller' && e.source === 'audit' && /2 endpoints/.test(e.summary));
    expect(create).toBeGreaterThanOrEqual(0);
    expect(rs).toBeGreaterThan(create);
    expect(pods).toHaveLength(2);
    expect(Math.min(...pods)).toBeGreaterThan(rs);
    expect(bindings).toHaveLength(2);
    expect(Math.min(...bindings)).toBeGreaterThan(Math.max(...pods));
    for (const r of running) expect(r).toBeGreaterThan(Math.max(...bindings));
    expect(slice).toBeGreaterThan(Math.max(...running));
    expect(t.entries[bindings[0]!]!.summary).toMatch(/^bound Pod web-ff44d897b-\w+ to node-[01]$/);
  });

  it('has pod names and UIDs only the create responses carry', () => {
    const podCreates = writes(t).filter((e) => e.actor === 'replicaset-controller' && e.verb === 'create');
    for (const e of podCreates) expect(e.summary).toMatch(/^created Pod web-ff44d897b-\w{5} \(uid [0-9a-f]{8}\)$/);
  });

  it('joins the runtime\'s lines by the pod\'s sandbox and containers, and the kubelets\' by pod', () => {
    const sandbox = t.entries.find((e) => e.actor === 'containerd node-0' && /returns sandbox id/.test(e.raw));
    expect(sandbox).toBeDefined();
    expect(t.entries.some((e) => e.actor === 'containerd node-0' && /StartContainer for/.test(e.raw))).toBe(true);
    expect(t.entries.some((e) => e.actor === 'kubelet node-1' && e.source === 'log')).toBe(true);
    expect(t.entries.some((e) => e.source === 'event' && e.verb === 'ScalingReplicaSet')).toBe(true);
  });

  it('puts the lanes in the order a request travels', () => {
    expect(t.lanes[0]).toBe('kubectl (admin)');
    const at = (lane: string) => t.lanes.indexOf(lane);
    expect(at('kube-apiserver')).toBeLessThan(at('deployment-controller'));
    expect(at('deployment-controller')).toBeLessThan(at('kube-scheduler'));
    expect(at('kube-scheduler')).toBeLessThan(at('kubelet node-0'));
    expect(at('kubelet node-0')).toBeLessThan(at('containerd node-0'));
    expect(at('containerd node-0')).toBeLessThan(at('kubelet node-1'));
  });

  it('keeps the raw audit event of each write', () => {
    for (const e of writes(t)) expect(JSON.parse(e.raw)).toHaveProperty('auditID');
  });

  it('shows nothing older than --since', () => {
    const late = buildTrace(parseTarget('deployment/web')!, { ...sources(), since: Date.parse('2026-12-01T08:35:24Z') });
    expect(late.entries.every((e) => e.time >= Date.parse('2026-12-01T08:35:24Z') || e.source === 'event')).toBe(true);
    expect(late.entries.some((e) => e.verb === 'create' && e.object === 'Deployment default/web')).toBe(false);
  });
});

describe('Events in the second of the writes they report', () => {
  // A fresh `kubectl create deployment shop --replicas=2` at 09:10:07.450: its ReplicaSet, pods,
  // bindings and their Events all fall in that second (in the shape of the recorded fixture).
  const sameSecond = (name: string) => fixture(`same-second/${name}`);
  const events = () => (JSON.parse(sameSecond('events.json')) as { items: Record<string, unknown>[] }).items;
  const shop = (extra: Record<string, unknown>[] = []) =>
    buildTrace(parseTarget('deployment/shop')!, { audit: parseAuditLog(sameSecond('audit.log')), events: parseEventList({ items: [...events(), ...extra] }), objects: [], logs: [] });
  const at = (t: Trace, test: (e: Trace['entries'][number]) => boolean) => {
    const i = t.entries.findIndex(test);
    expect(i, 'entry not in the trace').toBeGreaterThanOrEqual(0);
    return i;
  };

  it('starts with the learner\'s create, and tells each Event after the write it reports, in the order they were written', () => {
    const t = shop();
    expect(t.entries[0]).toMatchObject({ actor: 'kubectl (admin)', source: 'audit', verb: 'create', object: 'Deployment default/shop', time: Date.parse('2026-12-02T09:10:07.450Z') });
    const told = t.entries.filter((e) => e.source === 'event');
    expect(told.map((e) => e.verb)).toEqual(['ScalingReplicaSet', 'SuccessfulCreate', 'SuccessfulCreate', 'Scheduled', 'Scheduled']);
    expect(told.every((e, i) => i === 0 || e.time > told[i - 1]!.time)).toBe(true);
    const rs = at(t, (e) => e.verb === 'create' && e.object === 'ReplicaSet default/shop-6c9d8f7b5d');
    expect(at(t, (e) => e.verb === 'ScalingReplicaSet')).toBeGreaterThan(rs);
    for (const pod of ['shop-6c9d8f7b5d-q8zkx', 'shop-6c9d8f7b5d-m4tln']) {
      expect(at(t, (e) => e.verb === 'SuccessfulCreate' && e.summary.endsWith(pod))).toBeGreaterThan(at(t, (e) => e.verb === 'create' && e.object === `Pod default/${pod}`));
      expect(at(t, (e) => e.verb === 'Scheduled' && e.object === `Pod default/${pod}`)).toBeGreaterThan(at(t, (e) => e.verb === 'bind' && e.object === `Pod default/${pod}`));
    }
  });

  it('puts an Event known only to its second after everything else of that second', () => {
    const scaling = events().find((i) => i.reason === 'ScalingReplicaSet')!;
    const byHand = { ...scaling, reason: 'ByHand', metadata: { ...(scaling.metadata as object), name: 'shop-by-hand', uid: 'by-hand' } };
    const t = shop([byHand]);
    const last = t.entries.at(-1)!;
    expect(last).toMatchObject({ verb: 'ByHand', wholeSecond: true, time: Date.parse('2026-12-02T09:10:07Z') });
    expect(t.entries.filter((e) => e.verb !== 'ByHand').every((e) => e.time > last.time && e.time < last.time + 1000)).toBe(true);
  });
});

describe('traces of what went wrong', () => {
  it('a pod that cannot be scheduled shows the scheduler\'s reason', () => {
    const t = trace('deployment/huge');
    const refused = t.entries.filter((e) => e.actor === 'kube-scheduler' && e.problem);
    expect(refused.map((e) => e.summary).join('\n')).toMatch(/Insufficient cpu/);
    expect(refused.some((e) => e.source === 'audit' && /not scheduled: Unschedulable/.test(e.summary))).toBe(true);
    expect(refused.some((e) => e.source === 'event' && e.verb === 'FailedScheduling')).toBe(true);
  });

  it('a crash loop shows each restart', () => {
    const pod = sources().objects.find((o) => o.kind === 'Pod' && String((o.metadata as { name: string }).name).startsWith('bad-'))!;
    const t = trace(`pod/${(pod.metadata as { name: string }).name}`);
    const restarts = t.entries.filter((e) => e.source === 'audit' && /restarted \d+ time/.test(e.summary)).map((e) => Number(e.summary.match(/restarted (\d+)/)![1]));
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(restarts).size).toBeGreaterThanOrEqual(2);
    expect(t.entries.some((e) => e.problem && /CrashLoopBackOff|BackOff/.test(e.summary))).toBe(true);
    expect(t.entries.some((e) => e.problem && /exit 1|exited 1/.test(e.summary))).toBe(true);
  });
});

describe('services and nodes', () => {
  it('a service shows its create and the endpointslice-controller filling its slice', () => {
    const t = trace('svc/web');
    expect(t.entries.some((e) => e.actor === 'kubectl (admin)' && e.object === 'Service default/web')).toBe(true);
    const slices = writes(t).filter((e) => e.actor === 'endpointslice-controller');
    expect(slices.at(-1)!.summary).toMatch(/2 endpoints: web-ff44d897b-\w+, web-ff44d897b-\w+/);
    expect(t.objects.some((o) => o.kind === 'Pod')).toBe(false);
  });

  it('a node shows its status patches, the pods bound to it and its lease', () => {
    const t = trace('node/node-0');
    const bound = writes(t).filter((e) => e.verb === 'bind').map((e) => e.summary);
    expect(bound.length).toBeGreaterThanOrEqual(2);
    expect(bound.every((s) => s.endsWith('to node-0'))).toBe(true);
    expect(writes(t).some((e) => e.actor === 'kubelet node-0' && e.object === 'Node node-0')).toBe(true);
    expect(t.entries.some((e) => e.source === 'state' && e.object === 'Lease kube-node-lease/node-0')).toBe(true);
    expect(writes(t).some((e) => e.object === 'Node node-1')).toBe(false);
  });

  it('an object that never existed has an empty story', () => {
    const t = trace('deployment/nothing-here');
    expect(t.objects).toEqual([]);
    expect(t.entries).toEqual([]);
  });
});

describe('kube-proxy\'s lane', () => {
  it('counts its rules per Service from iptables comments, and shows them in the Service\'s trace', async () => {
    const { parseRuleCounts } = await import('../../../src/trace/collect.ts');
    // As `iptables -t nat -S | grep -o -- '--comment "default/[^ "]*' | sort | uniq -c` prints on node-0.
    const counts = parseRuleCounts('      5 --comment "default/kubernetes:https\n      8 --comment "default/web\n');
    expect(counts).toEqual({ 'default/kubernetes': 5, 'default/web': 8 });
    const t = buildTrace(parseTarget('svc/web')!, { ...sources(), proxyRules: [{ node: 'node-0', services: counts, readAt: Date.parse('2026-12-01T07:00:00Z') }, { node: 'node-1', services: {}, readAt: Date.parse('2026-12-01T07:00:00Z') }] });
    const rules = t.entries.filter((e) => e.actor.startsWith('kube-proxy '));
    expect(rules.map((e) => [e.actor, e.problem])).toEqual([['kube-proxy node-0', false], ['kube-proxy node-1', true]]);
    expect(rules[0]!.summary).toMatch(/^8 iptables nat rules for Service web/);
    expect(t.lanes.indexOf('kube-proxy node-0')).toBeGreaterThan(t.lanes.indexOf('kubelet node-0'));
  });
});

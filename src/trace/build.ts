import type { LogEntry } from '../logs/parse.ts';
import { actorOfUser, type AuditRecord } from './audit.ts';
import { actorOfEvent, placeByAudit, type ClusterEvent } from './events.ts';
import type { Trace, TraceEntry, TracedObject, TraceTarget } from './model.ts';

/** What a trace is built from, already read from the lab (see collect.ts). */
export interface TraceSources {
  audit: AuditRecord[];
  events: ClusterEvent[];
  /** The objects as they are now (deployments, replicasets, pods, services, endpointslices, nodes, leases). */
  objects: Json[];
  logs: LogEntry[];
  /** kube-proxy's iptables rules per Service on each worker, counted when the trace was read (it logs no syncs at its default verbosity). */
  proxyRules?: ProxyRules[];
  /** Nothing older is shown (milliseconds). */
  since?: number;
  unreadable?: string[];
}

export interface ProxyRules {
  node: string;
  /** "namespace/name" → how many nat rules name it. */
  services: Record<string, number>;
  readAt: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** An object the trace knows of, from the cluster now or from the response to its create. */
interface Known {
  kind: string;
  namespace?: string;
  name: string;
  uid: string;
  owners: string[];
  labels: Record<string, string>;
  /** A Service's selector; a workload's matchLabels. */
  selector: Record<string, string> | null;
  /** A Pod's node; an EndpointSlice's Service (its kubernetes.io/service-name label). */
  nodeName?: string;
  serviceName?: string;
  containerIds: string[];
  exists: boolean;
  body: Json;
}

const RESOURCE_KINDS: Record<string, string> = {
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  pods: 'Pod',
  services: 'Service',
  endpointslices: 'EndpointSlice',
  nodes: 'Node',
};
const TARGET_KINDS: Record<TraceTarget['kind'], string> = { deployment: 'Deployment', replicaset: 'ReplicaSet', pod: 'Pod', service: 'Service', node: 'Node' };

const keyOf = (kind: string, namespace: string | undefined, name: string): string => `${kind}/${namespace ?? ''}/${name}`;
const label = (k: { kind: string; namespace?: string; name: string }): string => `${k.kind} ${k.namespace ? `${k.namespace}/` : ''}${k.name}`;
const shortUid = (uid: string): string => uid.slice(0, 8);

function known(item: Json, exists: boolean, kindHint = ''): Known | null {
  const metadata = obj(item.metadata);
  const kind = str(item.kind) || kindHint;
  const uid = str(metadata.uid);
  if (!kind || !uid || !str(metadata.name)) return null;
  const spec = obj(item.spec);
  const selector = kind === 'Service' ? (Object.keys(obj(spec.selector)).length ? (obj(spec.selector) as Record<string, string>) : null) : ((obj(obj(spec.selector).matchLabels) as Record<string, string>) ?? null);
  const labels = obj(metadata.labels) as Record<string, string>;
  const status = obj(item.status);
  const containerIds = [...arr(status.containerStatuses), ...arr(status.initContainerStatuses)]
    .flatMap((c) => [str(c.containerID), str(obj(obj(c.lastState).terminated).containerID)])
    .map((id) => id.replace(/^\w+:\/\//, ''))
    .filter(Boolean);
  return {
    kind,
    namespace: str(metadata.namespace) || undefined,
    name: str(metadata.name),
    uid,
    owners: arr(metadata.ownerReferences).map((o) => str(o.uid)).filter(Boolean),
    labels,
    selector,
    nodeName: str(spec.nodeName) || undefined,
    serviceName: kind === 'EndpointSlice' ? labels['kubernetes.io/service-name'] : undefined,
    containerIds,
    exists,
    body: item,
  };
}

const selects = (selector: Record<string, string> | null, labels: Record<string, string>): boolean =>
  selector !== null && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * One object's story and everything it caused: the objects joined by owner references (a
 * Deployment's ReplicaSets and their Pods), selectors (the Services that select those Pods, and
 * their EndpointSlices) and bindings (a node's Pods); then every audited write to them, every Event
 * about them and every log line that names them, one lane per actor, oldest first.
 */
export function buildTrace(target: TraceTarget, sources: TraceSources): Trace {
  const universe = new Map<string, Known>();
  for (const item of sources.objects) {
    const k = known(item, true);
    if (k) universe.set(k.uid, k);
  }
  // Objects since deleted are known from the answers to their creates.
  for (const record of sources.audit) {
    if (record.event.verb !== 'create' || record.event.objectRef?.subresource) continue;
    const kind = RESOURCE_KINDS[record.event.objectRef?.resource ?? ''];
    const k = record.event.responseObject ? known(record.event.responseObject, false, kind) : null;
    if (k && !universe.has(k.uid)) universe.set(k.uid, k);
  }
  const all = [...universe.values()];
  const rootKind = TARGET_KINDS[target.kind];
  const candidates = all.filter((k) => k.kind === rootKind && k.name === target.name && (target.kind === 'node' || k.namespace === target.namespace));
  // The object as it is now, else the newest one of that name that was created.
  const root = candidates.find((k) => k.exists) ?? candidates.at(-1);

  const family = new Map<string, Known>();
  const add = (k: Known) => family.set(k.uid, k);
  if (root) {
    add(root);
    if (target.kind !== 'node') {
      // Owner references, down as far as they go.
      for (let grew = true; grew; ) {
        grew = false;
        for (const k of all) {
          if (!family.has(k.uid) && k.owners.some((o) => family.has(o)) && k.kind !== 'Event') {
            add(k);
            grew = true;
          }
        }
      }
      const pods = [...family.values()].filter((k) => k.kind === 'Pod');
      const services = target.kind === 'service' ? [root] : all.filter((k) => k.kind === 'Service' && k.namespace === target.namespace && pods.some((p) => selects(k.selector, p.labels)));
      for (const service of services) {
        add(service);
        for (const slice of all.filter((k) => k.kind === 'EndpointSlice' && k.namespace === service.namespace && (k.serviceName === service.name || k.owners.includes(service.uid)))) add(slice);
      }
    }
  }
  const names = new Set([...family.values()].map((k) => keyOf(k.kind, k.namespace, k.name)));
  if (!root) names.add(keyOf(rootKind, target.namespace, target.name));
  const pods = [...family.values()].filter((k) => k.kind === 'Pod');
  const since = sources.since ?? -Infinity;

  const entries: TraceEntry[] = [];
  for (const record of sources.audit) {
    if (record.time < since) continue;
    const entry = auditEntry(record, target, family, names);
    if (entry) entries.push(entry);
  }
  for (const event of placeByAudit(sources.events, sources.audit)) {
    if (event.lastTime < since) continue;
    const about = (event.regarding.uid && family.has(event.regarding.uid)) || names.has(keyOf(event.regarding.kind, event.regarding.namespace, event.regarding.name));
    if (!about) continue;
    const repeated = event.count > 1 ? ` (${event.count} times, last at ${new Date(event.lastTime).toISOString().slice(11, 19)})` : '';
    entries.push({
      time: event.time,
      ...(event.precise ? {} : { wholeSecond: true as const }),
      actor: actorOfEvent(event),
      source: 'event',
      verb: event.reason,
      object: label(event.regarding),
      summary: `${event.reason}: ${event.note}${repeated}`,
      problem: event.type === 'Warning',
      raw: event.raw,
    });
  }
  entries.push(...logEntries(sources.logs.filter((l) => l.time >= since), target, family, pods, root));
  for (const service of [...family.values()].filter((k) => k.kind === 'Service')) {
    for (const read of sources.proxyRules ?? []) {
      const rules = read.services[`${service.namespace}/${service.name}`] ?? 0;
      entries.push({
        time: read.readAt,
        actor: `kube-proxy ${read.node}`,
        source: 'state',
        verb: 'rules',
        object: label(service),
        summary: rules > 0 ? `${rules} iptables nat rules for Service ${service.name} now (kube-proxy wrote them from its EndpointSlices)` : `no iptables rules for Service ${service.name} yet`,
        problem: rules === 0,
        raw: `iptables -t nat -S on ${read.node}: ${rules} rules with --comment "${service.namespace}/${service.name}…"`,
      });
    }
  }
  if (target.kind === 'node' && root) {
    const lease = sources.objects.find((o) => str(o.kind) === 'Lease' && str(obj(o.metadata).name) === target.name && str(obj(o.metadata).namespace) === 'kube-node-lease');
    const renewed = Date.parse(str(obj(lease?.spec).renewTime));
    if (lease && Number.isFinite(renewed)) {
      const every = Number(obj(lease.spec).leaseDurationSeconds) || 40;
      entries.push({ time: renewed, actor: `kubelet ${target.name}`, source: 'state', verb: 'renew', object: `Lease kube-node-lease/${target.name}`, summary: `last renewed its lease (held by ${str(obj(lease.spec).holderIdentity)}; it lapses after ${every} s, then the node is NotReady); renewals are not audited`, problem: false, raw: JSON.stringify(lease) });
    }
  }

  const order = { audit: 0, event: 1, state: 2, log: 3 } as const;
  entries.sort((a, b) => sortTime(a) - sortTime(b) || order[a.source] - order[b.source]);
  const lanes = [...new Set(['kube-apiserver', ...entries.map((e) => e.actor)])].sort((a, b) => laneRank(a) - laneRank(b) || a.localeCompare(b));
  const objects: TracedObject[] = [...family.values()].map((k) => ({ kind: k.kind, namespace: k.namespace, name: k.name, uid: k.uid, exists: k.exists }));
  return { target, objects, lanes, entries, unreadable: sources.unreadable ?? [] };
}

/**
 * An Event known only to its second happened somewhere in it, and after what it reports (the
 * controller's write, the scheduler's bind): at the top of the second it would come before its own
 * cause, so it goes to the end of it. At worst it then follows a few entries of that second it
 * preceded, which misleads less than an effect told before its cause.
 */
const sortTime = (entry: TraceEntry): number => (entry.wholeSecond ? entry.time + 999.5 : entry.time);

/** Who asked first, then the API server, the controllers, the scheduler, each node's kubelet, runtime and proxy, then the add-ons. */
function laneRank(lane: string): number {
  if (lane.startsWith('kubectl')) return 0;
  if (lane === 'kube-apiserver') return 20;
  if (lane === 'kube-controller-manager') return 30;
  if (/controller|garbage-collector|cleaner/.test(lane)) return 31;
  if (lane === 'kube-scheduler') return 40;
  const node = lane.match(/^(kubelet|containerd|kube-proxy) (.+)$/);
  if (node) return 50 + (Number(node[2]!.replace(/\D/g, '')) || 0) * 3 + ['kubelet', 'containerd', 'kube-proxy'].indexOf(node[1]!);
  if (lane === 'coredns') return 90;
  if (lane === 'etcd') return 25;
  return 10;
}

function auditEntry(record: AuditRecord, target: TraceTarget, family: Map<string, Known>, names: Set<string>): TraceEntry | null {
  const { event } = record;
  const ref = event.objectRef ?? {};
  const kind = RESOURCE_KINDS[ref.resource ?? ''];
  if (!kind) return null;
  const response = obj(event.responseObject);
  const request = obj(event.requestObject);
  const responseMeta = obj(response.metadata);
  const name = ref.name || str(responseMeta.name) || str(obj(request.metadata).name);
  const namespace = ref.namespace || str(responseMeta.namespace) || undefined;
  const isBinding = ref.resource === 'pods' && ref.subresource === 'binding';
  const bindsTo = str(obj(request.target).name);
  const uid = ref.uid || (isBinding ? '' : str(responseMeta.uid));
  const matches =
    (uid && family.has(uid)) ||
    names.has(keyOf(kind, namespace, name)) ||
    (target.kind === 'node' && isBinding && bindsTo === target.name);
  if (!matches) return null;
  if (target.kind === 'node' && kind === 'Pod' && !isBinding) return null;
  const code = event.responseStatus?.code ?? 0;
  const object = label({ kind, namespace, name });
  let summary = describeWrite(event.verb, kind, name, ref.subresource, request, response, bindsTo);
  let problem = writeProblem(kind, ref.subresource, request);
  if (code >= 400) {
    summary += code === 409 ? ' (conflict: someone wrote first; it reads again and retries)' : ` (refused: ${code} ${event.responseStatus?.reason ?? ''} ${event.responseStatus?.message ?? ''})`.replace(/\s+\)/, ')');
    problem = problem || code !== 409;
  }
  return { time: record.time, actor: actorOfUser(event.user.username, event.userAgent), source: 'audit', verb: isBinding ? 'bind' : event.verb, object, summary, problem, raw: record.raw };
}

function describeWrite(verb: string, kind: string, name: string, subresource: string | undefined, request: Json, response: Json, bindsTo: string): string {
  if (subresource === 'binding') return `bound Pod ${name} to ${bindsTo || 'a node'}`;
  if (verb === 'create') {
    const uid = str(obj(response.metadata).uid);
    const detail = kind === 'ReplicaSet' || kind === 'Deployment' ? `, ${Number(obj(response.spec).replicas ?? 1)} replicas` : kind === 'EndpointSlice' ? `, ${endpointsOf(response)}` : '';
    return `created ${kind} ${name}${uid ? ` (uid ${shortUid(uid)}${detail})` : detail ? ` (${detail.slice(2)})` : ''}`;
  }
  if (verb === 'delete' || verb === 'deletecollection') return `deleted ${kind} ${name}`;
  if (subresource === 'status') {
    const status = obj(request.status);
    if (kind === 'Pod') return `${kind} ${name} status: ${podStatus(status)}`;
    if (kind === 'Deployment' || kind === 'ReplicaSet') return `${kind} ${name} status: ${Number(status.readyReplicas ?? 0)}/${Number(status.replicas ?? 0)} ready`;
    if (kind === 'Node') return `Node ${name} status: ${nodeStatus(status)}`;
    return `${kind} ${name} status updated`;
  }
  if (kind === 'EndpointSlice') return `EndpointSlice ${name}: ${endpointsOf(request)}`;
  if ((kind === 'ReplicaSet' || kind === 'Deployment') && obj(request.spec).replicas !== undefined) return `${verb === 'patch' ? 'patched' : 'updated'} ${kind} ${name} (${Number(obj(request.spec).replicas)} replicas)`;
  return `${verb === 'patch' ? 'patched' : 'updated'} ${kind} ${name}`;
}

function endpointsOf(slice: Json): string {
  const endpoints = arr(slice.endpoints);
  if (endpoints.length === 0) return 'no endpoints';
  const each = endpoints.map((e) => `${str(obj(e.targetRef).name) || arr(e.addresses).join(',')}${obj(e.conditions).ready === false ? ' (not ready)' : ''}`);
  return `${endpoints.length} endpoint${endpoints.length === 1 ? '' : 's'}: ${each.join(', ')}`;
}

/** A kubelet's (or the scheduler's) status patch in words: Pending → ContainerCreating → Running, a crash, a reason it waits. */
export function podStatus(status: Json): string {
  const parts: string[] = [];
  const scheduled = arr(status.conditions).find((c) => str(c.type) === 'PodScheduled');
  if (scheduled && str(scheduled.status) === 'False') parts.push(`not scheduled: ${str(scheduled.reason)}${scheduled.message ? ` — ${str(scheduled.message)}` : ''}`);
  const containers = arr(status.containerStatuses);
  const states = containers.map((c) => {
    const state = obj(c.state);
    const restarts = Number(c.restartCount ?? 0);
    const again = restarts > 0 ? `, restarted ${restarts} time${restarts === 1 ? '' : 's'}` : '';
    const lastExit = obj(obj(c.lastState).terminated);
    const last = lastExit.exitCode !== undefined ? `, last exit ${Number(lastExit.exitCode)}${lastExit.reason ? ` (${str(lastExit.reason)})` : ''}` : '';
    if (state.running) return `${str(c.name)} running${c.ready === true ? ', ready' : ''}${again}`;
    if (state.waiting) return `${str(c.name)} waiting: ${str(obj(state.waiting).reason) || 'unknown'}${again}${last}`;
    if (state.terminated) return `${str(c.name)} exited ${Number(obj(state.terminated).exitCode)}${obj(state.terminated).reason ? ` (${str(obj(state.terminated).reason)})` : ''}${again}`;
    return str(c.name);
  });
  const phase = str(status.phase);
  // A patch carries only what changed: a pod whose containers are still being created has not left Pending.
  const creating = containers.length > 0 && containers.every((c) => /^(ContainerCreating|PodInitializing)$/.test(str(obj(obj(c.state).waiting).reason)));
  const shown = phase || (creating ? 'Pending' : '');
  if (shown) parts.push(shown);
  parts.push(...states);
  if (str(status.podIP)) parts.push(`IP ${str(status.podIP)}`);
  return parts.join('; ') || 'conditions updated';
}

function nodeStatus(status: Json): string {
  const ready = arr(status.conditions).find((c) => str(c.type) === 'Ready');
  if (ready) return `Ready=${str(ready.status)}${ready.reason ? ` (${str(ready.reason)})` : ''}`;
  return arr(status.conditions).length ? `${arr(status.conditions).map((c) => `${str(c.type)}=${str(c.status)}`).join(', ')}` : 'heartbeat';
}

const FAILING_WAITS = /CrashLoopBackOff|ErrImagePull|ImagePullBackOff|CreateContainerConfigError|CreateContainerError|InvalidImageName|RunContainerError/;

function writeProblem(kind: string, subresource: string | undefined, request: Json): boolean {
  if (kind !== 'Pod' || subresource !== 'status') return false;
  const status = obj(request.status);
  if (arr(status.conditions).some((c) => str(c.type) === 'PodScheduled' && str(c.status) === 'False')) return true;
  return arr(status.containerStatuses).some((c) => {
    const state = obj(c.state);
    return FAILING_WAITS.test(str(obj(state.waiting).reason)) || (state.terminated !== undefined && Number(obj(state.terminated).exitCode) !== 0);
  });
}

const NODE_COMPONENTS = new Set(['kubelet', 'containerd', 'kube-proxy']);
const laneOfLine = (line: LogEntry): string => (NODE_COMPONENTS.has(line.component) ? `${line.component} ${line.machine}` : line.component);
const SANDBOX = /returns sandbox id \\?"([0-9a-f]{64})\\?"/;
const CONTAINER = /returns container id \\?"([0-9a-f]{64})\\?"/;

/**
 * The log lines that name the traced objects: a pod by namespace/name, name or UID, its sandbox
 * (learned from containerd's RunPodSandbox answer) and its containers (from the pod's status and
 * containerd's CreateContainer answers); a workload or Service by its "namespace/name"; a node by its
 * own components' warnings and the control plane's lines that name it.
 */
function logEntries(logs: LogEntry[], target: TraceTarget, family: Map<string, Known>, pods: Known[], root: Known | undefined): TraceEntry[] {
  const tokens = new Set<string>();
  for (const k of family.values()) {
    if (k.kind === 'Pod') {
      tokens.add(k.uid);
      tokens.add(`${k.namespace}/${k.name}`);
      tokens.add(`Name:${k.name},`);
      for (const id of k.containerIds) tokens.add(id);
    } else if (k.kind !== 'EndpointSlice' && k.kind !== 'Node') {
      tokens.add(`"${k.namespace}/${k.name}"`);
      tokens.add(`"${k.namespace}/${k.name}:`);
    }
  }
  const hasToken = (text: string): boolean => {
    for (const token of tokens) if (text.includes(token)) return true;
    return false;
  };
  if (pods.length > 0) {
    // Sandboxes first (their answers name the pod), then the containers created in them.
    for (const pattern of [SANDBOX, CONTAINER]) {
      for (const line of logs) {
        const id = line.raw.match(pattern)?.[1];
        if (id && hasToken(line.raw)) tokens.add(id);
      }
    }
  }
  const nodeLine = (line: LogEntry): boolean =>
    target.kind === 'node' &&
    root !== undefined &&
    ((line.machine === target.name && NODE_COMPONENTS.has(line.component) && line.severity !== 'info' && line.severity !== 'debug') ||
      (line.machine === 'server' && (line.raw.includes(`node="${target.name}"`) || line.raw.includes(`"${target.name}"`))));
  const seen = new Set<string>();
  const entries: TraceEntry[] = [];
  for (const line of logs) {
    if (!(nodeLine(line) || (tokens.size > 0 && hasToken(line.raw)))) continue;
    const key = `${line.time}|${line.machine}|${line.raw}`;
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push({
      time: line.time,
      actor: laneOfLine(line),
      source: 'log',
      verb: line.severity,
      object: line.machine,
      summary: line.message.length > 240 ? `${line.message.slice(0, 239)}…` : line.message,
      problem: line.severity === 'error' || line.severity === 'fatal',
      raw: line.raw,
    });
  }
  return entries;
}

/** What `lab trace` follows, and the story it tells: plain data, shared by the CLI, the API and the page. */

/** The kinds a trace starts from, by the names a learner types (kubectl's singular, plural and short names). */
export const TRACE_KINDS = {
  deployment: ['deployment', 'deployments', 'deploy'],
  replicaset: ['replicaset', 'replicasets', 'rs'],
  pod: ['pod', 'pods', 'po'],
  service: ['service', 'services', 'svc'],
  node: ['node', 'nodes', 'no'],
} as const;
export type TraceKind = keyof typeof TRACE_KINDS;

export interface TraceTarget {
  kind: TraceKind;
  name: string;
  /** Absent for nodes. */
  namespace?: string;
}

/** Where an entry came from: a write the API server audited, an Event, or a component's log line. */
export type EntrySource = 'audit' | 'event' | 'log' | 'state';

export interface TraceEntry {
  /** Milliseconds since the epoch. */
  time: number;
  /** Known only to the whole second `time` names (an Event nothing finer is known of); sorted after the rest of that second. */
  wholeSecond?: true;
  /** The lane: who acted ("kubectl (admin)", "deployment-controller", "kube-scheduler", "kubelet node-0", …). */
  actor: string;
  source: EntrySource;
  /** For a write: the verb as the API server saw it (create, update, patch, delete); for Events, their reason. */
  verb: string;
  /** What was written or talked about: "ReplicaSet default/web-ff44d897b". */
  object: string;
  /** One line in plain words. */
  summary: string;
  /** A failure worth noticing: a Warning Event, an Unschedulable condition, a crash, an error line, a refused write. */
  problem: boolean;
  /** The audit event, the Event or the log line exactly as recorded (--raw). */
  raw: string;
}

export interface TracedObject {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  /** Still in the cluster when the trace was read. */
  exists: boolean;
}

export interface Trace {
  target: TraceTarget;
  /** The root and what it caused, joined by owner references, selectors and bindings. */
  objects: TracedObject[];
  /** Lanes in the order a control loop runs: who asked, the API server, controllers, scheduler, nodes. */
  lanes: string[];
  /** Oldest first. */
  entries: TraceEntry[];
  /** Sources that could not be read, in words; the trace is partial without them. */
  unreadable: string[];
}

/** Parses "deployment/web" (or "deploy/web", "pods/x"); null when the kind is not one a trace follows. */
export function parseTarget(ref: string, namespace = 'default'): TraceTarget | null {
  const match = ref.trim().match(/^([A-Za-z.]+)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/);
  if (!match) return null;
  const typed = match[1]!.toLowerCase().replace(/\.(apps|v1)$/, '');
  const kind = (Object.keys(TRACE_KINDS) as TraceKind[]).find((k) => (TRACE_KINDS[k] as readonly string[]).includes(typed));
  if (!kind) return null;
  return kind === 'node' ? { kind, name: match[2]! } : { kind, name: match[2]!, namespace };
}

/** An entry's time of day as precisely as it is known: "08:35:22.468", or "08:35:22" for a whole second. */
export const clockOf = (entry: Pick<TraceEntry, 'time' | 'wholeSecond'>): string => new Date(entry.time).toISOString().slice(11, entry.wholeSecond ? 19 : 23);

export const targetName = (t: TraceTarget): string => `${t.kind}/${t.name}${t.namespace ? ` in ${t.namespace}` : ''}`;

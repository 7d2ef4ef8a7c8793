/** Kubernetes Events, from either API group (core v1 and events.k8s.io/v1), in one shape. */

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export interface ClusterEvent {
  uid: string;
  /** The first time it happened, in milliseconds (Events written by core v1 clients have second precision). */
  time: number;
  /** The last time, when it repeated. */
  lastTime: number;
  count: number;
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
  /** Who reported it: default-scheduler, kubelet, deployment-controller, … */
  controller: string;
  /** Which instance: the node of a kubelet, for one. */
  instance: string;
  regarding: ObjectRef;
  raw: string;
}

type Json = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const timeOf = (...values: unknown[]): number => {
  for (const v of values) {
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isFinite(t)) return t;
  }
  return NaN;
};

/** One Event object, whichever group it was read through; null for what is not an Event. */
export function normaliseEvent(item: Json): ClusterEvent | null {
  const metadata = obj(item.metadata);
  const isNew = 'regarding' in item || str(item.apiVersion).startsWith('events.k8s.io');
  const regarding = obj(isNew ? item.regarding : item.involvedObject);
  if (!str(regarding.name) || !str(regarding.kind)) return null;
  const series = obj(item.series);
  const source = obj(item.source);
  const first = isNew
    ? timeOf(item.eventTime, item.deprecatedFirstTimestamp, metadata.creationTimestamp)
    : timeOf(item.eventTime, item.firstTimestamp, metadata.creationTimestamp);
  const last = isNew
    ? timeOf(series.lastObservedTime, item.deprecatedLastTimestamp, item.eventTime, item.deprecatedFirstTimestamp)
    : timeOf(obj(item.series).lastObservedTime, item.lastTimestamp, item.eventTime, item.firstTimestamp);
  if (!Number.isFinite(first)) return null;
  const count = Number(isNew ? (series.count ?? item.deprecatedCount) : (obj(item.series).count ?? item.count)) || 1;
  return {
    uid: str(metadata.uid) || `${str(metadata.namespace)}/${str(metadata.name)}`,
    time: first,
    lastTime: Number.isFinite(last) ? last : first,
    count,
    type: str(item.type) === 'Warning' ? 'Warning' : 'Normal',
    reason: str(item.reason),
    note: str(isNew ? item.note : item.message),
    controller: str(item.reportingController) || str(item.reportingComponent) || str(source.component),
    instance: str(item.reportingInstance) || str(source.host),
    regarding: { kind: str(regarding.kind), namespace: str(regarding.namespace) || undefined, name: str(regarding.name), uid: str(regarding.uid) || undefined },
    raw: JSON.stringify(item),
  };
}

/** The items of `kubectl get events -o json` of either group; the same Event read through both groups is kept once. */
export function parseEventList(...lists: Json[]): ClusterEvent[] {
  const seen = new Map<string, ClusterEvent>();
  for (const list of lists) {
    for (const item of Array.isArray(list.items) ? (list.items as Json[]) : []) {
      const event = normaliseEvent(item);
      if (event && !seen.has(event.uid)) seen.set(event.uid, event);
    }
  }
  return [...seen.values()];
}

/** The lane of an Event's reporter, named as the audit log's writer is. */
export function actorOfEvent(event: ClusterEvent): string {
  const c = event.controller;
  if (c === 'default-scheduler' || c === 'kube-scheduler') return 'kube-scheduler';
  if (c === 'kubelet') return event.instance ? `kubelet ${event.instance}` : 'kubelet';
  if (c === 'kube-proxy') return event.instance ? `kube-proxy ${event.instance.replace(/^kube-proxy-/, '')}` : 'kube-proxy';
  return c || 'unknown';
}

/** Kubernetes Events, from either API group (core v1 and events.k8s.io/v1), in one shape. */

import type { AuditRecord } from './audit.ts';

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export interface ClusterEvent {
  uid: string;
  /** The Event object's own namespace and name: its writes are audited under them. */
  namespace?: string;
  name: string;
  /** The first time it happened, in milliseconds, as precisely as it is known (see `precise`). */
  time: number;
  /**
   * False when `time` is only the whole second core v1 timestamps carry: it happened somewhere in
   * that second. True when its eventTime, the time its reporter put in its name or its audited write
   * placed it to the millisecond.
   */
  precise: boolean;
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
  // eventTime (a MicroTime) is already `first` when set; else the name may say more than the second.
  const hasEventTime = Number.isFinite(timeOf(item.eventTime));
  const named = hasEventTime ? NaN : timeInName(str(metadata.name), first);
  const time = Number.isFinite(named) ? named : first;
  const count = Number(isNew ? (series.count ?? item.deprecatedCount) : (obj(item.series).count ?? item.count)) || 1;
  return {
    uid: str(metadata.uid) || `${str(metadata.namespace)}/${str(metadata.name)}`,
    namespace: str(metadata.namespace) || undefined,
    name: str(metadata.name),
    time,
    precise: hasEventTime || Number.isFinite(named),
    lastTime: Math.max(time, Number.isFinite(last) ? last : first),
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

/**
 * client-go names each Event it makes "<object name>.<the nanosecond it was made, in hex>" (record
 * and events recorders alike), finer than the whole second a core v1 Event keeps. Believed only when
 * it falls in that second: a name chosen some other way is not read as a time.
 */
export function timeInName(name: string, wholeSecond: number): number {
  const hex = name.match(/\.([0-9a-f]{1,16})$/)?.[1];
  if (!hex) return NaN;
  const ms = Number(BigInt(`0x${hex}`) / 1_000_000n);
  return ms - (ms % 1000) === wholeSecond ? ms : NaN;
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

/**
 * Events still known only to the second, placed at their audited create when the audit policy
 * records Event writes (hardway's does not: it reads Events from the API, and the name nearly always
 * says more): the request reached the API server just after the reporter made the Event. Patches
 * and updates are repeats, later than the first time. A create in a later second (the reporter's
 * queue held it back) says less than the second itself, and is not used.
 */
export function placeByAudit(events: ClusterEvent[], audit: AuditRecord[]): ClusterEvent[] {
  const created = new Map<string, number>();
  for (const { event } of audit) {
    const ref = event.objectRef;
    if (event.verb !== 'create' || ref?.resource !== 'events' || ref.subresource || (ref.apiGroup && ref.apiGroup !== 'events.k8s.io')) continue;
    const name = ref.name || str(obj(obj(event.requestObject).metadata).name);
    const received = Date.parse(event.requestReceivedTimestamp);
    const key = `${ref.namespace ?? ''}/${name}`;
    if (name && Number.isFinite(received) && !created.has(key)) created.set(key, received);
  }
  return events.map((e) => {
    const at = e.precise ? undefined : created.get(`${e.namespace ?? ''}/${e.name}`);
    return at !== undefined && at - (at % 1000) === e.time ? { ...e, time: at, precise: true, lastTime: Math.max(at, e.lastTime) } : e;
  });
}

/** The lane of an Event's reporter, named as the audit log's writer is. */
export function actorOfEvent(event: ClusterEvent): string {
  const c = event.controller;
  if (c === 'default-scheduler' || c === 'kube-scheduler') return 'kube-scheduler';
  if (c === 'kubelet') return event.instance ? `kubelet ${event.instance}` : 'kubelet';
  if (c === 'kube-proxy') return event.instance ? `kube-proxy ${event.instance.replace(/^kube-proxy-/, '')}` : 'kube-proxy';
  return c || 'unknown';
}

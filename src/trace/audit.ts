/** The API server's audit log (audit.k8s.io/v1 Event lines), read for who wrote what and when. */

export interface AuditObjectRef {
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
}

export interface AuditEvent {
  kind?: string;
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: AuditObjectRef;
  responseStatus?: { code?: number; reason?: string; message?: string };
  requestObject?: Record<string, unknown>;
  responseObject?: Record<string, unknown>;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

export interface AuditRecord {
  event: AuditEvent;
  /** When the answer was sent (the write took effect then), in milliseconds. */
  time: number;
  raw: string;
}

/** Parses audit lines; lines that are not complete audit events (a torn last line, a RequestReceived stage) are skipped. */
export function parseAuditLog(text: string): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(raw) as AuditEvent;
    } catch {
      continue;
    }
    if (event.kind !== undefined && event.kind !== 'Event') continue;
    if (event.stage !== 'ResponseComplete' && event.stage !== 'Panic') continue;
    const time = Date.parse(event.stageTimestamp);
    if (!Number.isFinite(time) || !event.user?.username) continue;
    records.push({ event, time, raw });
  }
  return records;
}

/**
 * The lane of whoever made a request: each controller writes as its own service account, the
 * scheduler as system:kube-scheduler, each kubelet as system:node:<name>; a person's kubectl by user.
 */
export function actorOfUser(username: string, userAgent = ''): string {
  const controller = username.match(/^system:serviceaccount:kube-system:(.+-controller|generic-garbage-collector|.+-cleaner)$/);
  if (controller) return controller[1]!;
  const node = username.match(/^system:node:(.+)$/);
  if (node) return `kubelet ${node[1]}`;
  if (username === 'system:kube-scheduler') return 'kube-scheduler';
  if (username === 'system:kube-controller-manager') return 'kube-controller-manager';
  if (username === 'system:kube-proxy') return 'kube-proxy';
  if (username === 'system:apiserver') return 'kube-apiserver';
  if (/^system:serviceaccount:kube-system:coredns$/.test(username)) return 'coredns';
  if (userAgent.startsWith('kubectl')) return `kubectl (${username})`;
  return username;
}

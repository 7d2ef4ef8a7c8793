import type { MachineProvider } from '../../vm/provider.ts';
import { collectLogTimeline } from '../logs/collect.ts';
import { ADMIN_KUBECONFIG_ON_SERVER, MACHINES } from '../lab/topology.ts';
import { parseAuditLog } from './audit.ts';
import { buildTrace, type ProxyRules } from './build.ts';
import { parseEventList } from './events.ts';
import { TRACE_KINDS, type Trace, type TraceKind, type TraceTarget } from './model.ts';

/** Where the API server writes its audit log (chapter 8's unit), and how much of it one trace reads at most. */
export const AUDIT_LOG = '/var/log/audit.log';
export const TRACE_BOUNDS = { auditLines: 20_000, readTimeoutMs: 30_000 } as const;

const KUBECTL = `kubectl --kubeconfig ${ADMIN_KUBECONFIG_ON_SERVER} --request-timeout=10s`;
const SECTION = '### hardway-trace ';
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** One script on the server: the objects, the Events, the audit lines that can be about the target (newest last). */
function serverScript(target: TraceTarget): string {
  const ns = target.namespace ?? 'default';
  // A cheap first cut on the server: lines of the namespace, or lines naming the node; the builder joins exactly.
  const auditFilter = target.kind === 'node' ? `-e ${quote(`"${target.name}"`)}` : `-e ${quote(`"namespace":"${ns}"`)}`;
  return [
    `echo '${SECTION}objects'`,
    `${KUBECTL} get deployments,replicasets,pods,services,endpointslices,nodes -n ${quote(ns)} -o json`,
    `echo '${SECTION}leases'`,
    `${KUBECTL} get leases -n kube-node-lease -o json`,
    `echo '${SECTION}events'`,
    `${KUBECTL} get events.events.k8s.io ${target.kind === 'node' ? '-A' : `-n ${quote(ns)}`} -o json`,
    `echo '${SECTION}audit'`,
    `test -f ${AUDIT_LOG} || { echo 'no ${AUDIT_LOG}' >&2; exit 0; }`,
    `cat $(ls -tr /var/log/audit-*.log 2>/dev/null) ${AUDIT_LOG} | grep -F ${auditFilter} | tail -n ${TRACE_BOUNDS.auditLines}`,
  ].join('\n');
}

/** Splits the script's output into its sections; a section that is not JSON counts as unreadable. */
export function splitSections(stdout: string): Record<string, string> {
  const sections: Record<string, string> = {};
  let current = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith(SECTION)) {
      current = line.slice(SECTION.length).trim();
      sections[current] = '';
    } else if (current) sections[current] += `${line}\n`;
  }
  return sections;
}

const parseList = (text: string | undefined): Record<string, unknown> | null => {
  try {
    const list = JSON.parse(text ?? '') as Record<string, unknown>;
    return Array.isArray(list.items) ? list : null;
  } catch {
    return null;
  }
};

export interface TraceOptions {
  /** Nothing older is read (milliseconds since the epoch). */
  since: number;
}

/**
 * Reads everything a trace joins from a lab: the objects, Events and audit lines from the server,
 * then the merged log timeline from the moment the traced object was created (or `since`).
 */
export async function collectTrace(provider: MachineProvider, lab: string, target: TraceTarget, options: TraceOptions): Promise<Trace> {
  const unreadable: string[] = [];
  const result = await provider.exec(lab, 'server', ['bash', '-c', serverScript(target)], { timeoutMs: TRACE_BOUNDS.readTimeoutMs }).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: error instanceof Error ? error.message : String(error) }));
  const sections = splitSections(result.stdout);
  const objects = parseList(sections.objects);
  const leases = parseList(sections.leases);
  const events = parseList(sections.events);
  const stderr = result.stderr.trim().split('\n')[0] ?? '';
  if (!objects) unreadable.push(`the objects (kubectl on the server: ${stderr || 'no answer'})`);
  if (!events) unreadable.push(`the Events (kubectl on the server: ${stderr || 'no answer'})`);
  if (sections.audit === undefined || /no \/var\/log\/audit.log/.test(result.stderr)) unreadable.push(`the audit log (${AUDIT_LOG} on the server; chapter 8's audit step turns it on)`);
  const items = [...((objects?.items as Record<string, unknown>[]) ?? []), ...((leases?.items as Record<string, unknown>[]) ?? []).map((l) => ({ kind: 'Lease', ...l }))];
  const audit = parseAuditLog(sections.audit ?? '');
  // The logs are read from the traced object's birth: less to read than the whole window.
  const created = creationOf(items, target);
  const logsSince = Math.max(options.since, Number.isFinite(created) ? created - 5000 : options.since);
  const [timeline, proxyRules] = await Promise.all([
    collectLogTimeline(provider, lab, { since: logsSince, maxAgeMs: Date.now() - options.since + 1000 }),
    target.kind === 'node' ? Promise.resolve([]) : readProxyRules(provider, lab, target.namespace ?? 'default', unreadable),
  ]);
  for (const { source, reason } of timeline.unreadable) unreadable.push(`${source}'s log (${reason})`);
  return buildTrace(target, { audit, events: parseEventList(events ?? {}), objects: items, logs: timeline.entries, proxyRules, since: options.since, unreadable });
}

/** Counts kube-proxy's nat rules per Service of a namespace on each worker, by the comment it gives each rule. */
async function readProxyRules(provider: MachineProvider, lab: string, namespace: string, unreadable: string[]): Promise<ProxyRules[]> {
  const script = `iptables -t nat -S | grep -o -- ${quote(`--comment "${namespace}/`)}'[^ "]*' | sort | uniq -c`;
  const workers = MACHINES.filter((m) => m.worker).map((m) => m.name);
  const reads = await Promise.all(
    workers.map(async (node): Promise<ProxyRules | null> => {
      const result = await provider.exec(lab, node, ['bash', '-c', script], { timeoutMs: 10_000 }).catch(() => null);
      if (!result) {
        unreadable.push(`${node}'s iptables rules`);
        return null;
      }
      return { node, services: parseRuleCounts(result.stdout), readAt: Date.now() };
    }),
  );
  return reads.filter((r): r is ProxyRules => r !== null);
}

/** "      8 --comment \"default/web" lines into {"default/web": 8}; a port name after ":" counts for its Service. */
export function parseRuleCounts(stdout: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of stdout.matchAll(/^\s*(\d+) --comment "([^"\s:]+)/gm)) counts[m[2]!] = (counts[m[2]!] ?? 0) + Number(m[1]);
  return counts;
}

function creationOf(items: Record<string, unknown>[], target: TraceTarget): number {
  if (target.kind === 'node') return NaN;
  const kind = { deployment: 'Deployment', replicaset: 'ReplicaSet', pod: 'Pod', service: 'Service' }[target.kind];
  const root = items.find((i) => i.kind === kind && (i.metadata as { name?: string })?.name === target.name);
  return Date.parse((root?.metadata as { creationTimestamp?: string } | undefined)?.creationTimestamp ?? '');
}

export interface Traceable {
  kind: TraceKind;
  namespace?: string;
  name: string;
}

/** What a trace can start from now: every deployment, replicaset, pod and service, and the nodes. */
export async function listTraceable(provider: MachineProvider, lab: string): Promise<Traceable[]> {
  const script = `${KUBECTL} get deployments,replicasets,pods,services,nodes -A -o jsonpath='{range .items[*]}{.kind}{" "}{.metadata.namespace}{" "}{.metadata.name}{"\\n"}{end}'`;
  const result = await provider.exec(lab, 'server', ['bash', '-c', script], { timeoutMs: TRACE_BOUNDS.readTimeoutMs });
  if (result.exitCode !== 0) throw new Error(result.stderr.trim().split('\n')[0] || `kubectl exited with ${result.exitCode}`);
  return result.stdout.split('\n').flatMap((line) => {
    const [kind = '', namespace = '', name = ''] = line.trim().split(' ');
    const key = (Object.keys(TRACE_KINDS) as TraceKind[]).find((k) => k === kind.toLowerCase());
    if (!key || !name) return [];
    return [key === 'node' ? { kind: key, name } : { kind: key, namespace, name }];
  });
}

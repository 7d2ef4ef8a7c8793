import type { MachineProvider } from '../../vm/provider.ts';
import { ADMIN_KUBECONFIG_ON_SERVER, MACHINES, POD_COMPONENTS, findMachine } from '../lab/topology.ts';
import { joinContinuations, parseJournalLine, parsePodLine, SEVERITIES, type LogEntry, type Severity } from './parse.ts';

export interface LogQuery {
  /** Milliseconds since the epoch; at most `maxAgeMs` back is read. */
  since: number;
  machine?: string;
  component?: string;
  level?: Severity;
  grep?: string;
  /** The newest lines read per machine journal (and per pod) at most. */
  maxLines?: number;
  /** How far back a query may reach at most, in milliseconds. */
  maxAgeMs?: number;
}

/** What one query reads at most: a bounded amount whatever `since` asks for. */
export const LOG_BOUNDS = { maxLines: 5000, maxAgeMs: 3_600_000, readTimeoutMs: 20_000 } as const;

/** The merged timeline, and what could not be read (instead of silently showing no lines for it). */
export interface LogTimeline {
  entries: LogEntry[];
  /** The moment actually read from (the query's, clamped to `maxAgeMs`). */
  since: number;
  /** Sources that could not be read (a stopped or missing machine, an API server that does not answer) and why. */
  unreadable: { source: string; reason: string }[];
  /** Sources that had more lines than `maxLines`: only their newest were read. */
  truncated: string[];
}

interface Batch {
  source: string;
  entries: LogEntry[];
  problem?: string;
  truncated?: boolean;
}

/** Every machine's journal and the add-ons' pod logs since a moment, merged into one time-ordered list. */
export async function collectLogs(provider: MachineProvider, lab: string, query: LogQuery): Promise<LogEntry[]> {
  return (await collectLogTimeline(provider, lab, query)).entries;
}

/** As collectLogs, with what could not be read and what was cut to the bounds. */
export async function collectLogTimeline(provider: MachineProvider, lab: string, query: LogQuery): Promise<LogTimeline> {
  const since = Math.max(query.since, Date.now() - (query.maxAgeMs ?? LOG_BOUNDS.maxAgeMs));
  const maxLines = Math.max(1, Math.floor(query.maxLines ?? LOG_BOUNDS.maxLines));
  const bounded = { ...query, since, maxLines };
  const machines = MACHINES.map((m) => m.name).filter((m) => !query.machine || m === query.machine);
  const batches = await Promise.all([
    ...machines.map((machine) => journalOf(provider, lab, machine, bounded)),
    ...(query.machine ? [] : Object.entries(POD_COMPONENTS).filter(([c]) => !query.component || c === query.component).map(([c, selector]) => podLogs(provider, lab, c, selector, since, maxLines))),
  ]);
  return {
    entries: batches.flatMap((b) => b.entries).filter((entry) => matches(entry, bounded)).sort((a, b) => a.time - b.time),
    since,
    unreadable: batches.flatMap((b) => (b.problem ? [{ source: b.source, reason: b.problem }] : [])),
    truncated: batches.flatMap((b) => (b.truncated ? [b.source] : [])),
  };
}

const firstLine = (text: string): string => text.trim().split('\n')[0]?.slice(0, 300) ?? '';
const reasonOf = (error: unknown): string => firstLine(error instanceof Error ? error.message : String(error)) || 'unknown error';

async function journalOf(provider: MachineProvider, lab: string, machine: string, query: LogQuery & { maxLines: number }): Promise<Batch> {
  const units = (findMachine(machine)?.units ?? []).filter((u) => !query.component || u === query.component);
  if (units.length === 0) return { source: machine, entries: [] };
  const args = ['journalctl', '--no-pager', '-o', 'json', '--output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT,UNIT,SYSLOG_IDENTIFIER', '--since', `@${Math.floor(query.since / 1000)}`, '-n', String(query.maxLines)];
  for (const unit of units) args.push('-u', unit);
  try {
    const result = await provider.exec(lab, machine, args, { timeoutMs: LOG_BOUNDS.readTimeoutMs });
    if (result.exitCode !== 0) return { source: machine, entries: [], problem: firstLine(result.stderr) || `journalctl exited with ${result.exitCode}` };
    const lines = result.stdout.split('\n').filter((line) => line.trim());
    return { source: machine, entries: joinContinuations(lines.flatMap((line) => parseJournalLine(line, machine) ?? [])), truncated: lines.length >= query.maxLines };
  } catch (error) {
    return { source: machine, entries: [], problem: reasonOf(error) };
  }
}

async function podLogs(provider: MachineProvider, lab: string, component: string, selector: string, since: number, maxLines: number): Promise<Batch> {
  const source = `${component} pods`;
  const script = [
    `test -s ${ADMIN_KUBECONFIG_ON_SERVER} && command -v kubectl >/dev/null || exit 0`,
    `kubectl --kubeconfig ${ADMIN_KUBECONFIG_ON_SERVER} logs -n kube-system -l ${selector} --timestamps --prefix --tail=${maxLines} --since-time=${new Date(since).toISOString()} --max-log-requests=10 --request-timeout=5s`,
  ].join('\n');
  try {
    const result = await provider.exec(lab, 'server', ['bash', '-c', script], { timeoutMs: LOG_BOUNDS.readTimeoutMs });
    const entries = result.stdout.split('\n').flatMap((line) => parsePodLine(line, component) ?? []);
    // No pods yet (before chapter 12) is not a problem; an API server that does not answer is.
    const problem = result.exitCode !== 0 && !/No resources found/i.test(result.stderr) ? firstLine(result.stderr) || `kubectl logs exited with ${result.exitCode}` : undefined;
    return { source, entries, problem, truncated: entries.length >= maxLines };
  } catch (error) {
    return { source, entries: [], problem: reasonOf(error) };
  }
}

function matches(entry: LogEntry, query: LogQuery): boolean {
  if (entry.time < query.since) return false;
  if (query.component && entry.component !== query.component) return false;
  if (query.level && SEVERITIES.indexOf(entry.severity) < SEVERITIES.indexOf(query.level)) return false;
  if (query.grep && !`${entry.message}\n${entry.raw}`.toLowerCase().includes(query.grep.toLowerCase())) return false;
  return true;
}

/** Parses "30s", "5m", "2h" (or a bare number of minutes) into milliseconds. */
export function parseDuration(text: string): number | null {
  const match = text.trim().match(/^(\d+)\s*(s|m|h|d)?$/);
  if (!match) return null;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 'm') as 's'];
  return Number(match[1]) * unit;
}

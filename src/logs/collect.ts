import type { MachineProvider } from '../../vm/provider.ts';
import { ADMIN_KUBECONFIG_ON_SERVER, MACHINES, POD_COMPONENTS, findMachine } from '../lab/topology.ts';
import { parseJournalLine, parsePodLine, SEVERITIES, type LogEntry, type Severity } from './parse.ts';

export interface LogQuery {
  /** Milliseconds since the epoch. */
  since: number;
  machine?: string;
  component?: string;
  level?: Severity;
  grep?: string;
}

/** Every machine's journal and the add-ons' pod logs since a moment, merged into one time-ordered list. */
export async function collectLogs(provider: MachineProvider, lab: string, query: LogQuery): Promise<LogEntry[]> {
  const machines = MACHINES.map((m) => m.name).filter((m) => !query.machine || m === query.machine);
  const batches = await Promise.all([
    ...machines.map((machine) => journalOf(provider, lab, machine, query)),
    ...(query.machine ? [] : Object.entries(POD_COMPONENTS).filter(([c]) => !query.component || c === query.component).map(([c, selector]) => podLogs(provider, lab, c, selector, query.since))),
  ]);
  return batches.flat().filter((entry) => matches(entry, query)).sort((a, b) => a.time - b.time);
}

async function journalOf(provider: MachineProvider, lab: string, machine: string, query: LogQuery): Promise<LogEntry[]> {
  const units = (findMachine(machine)?.units ?? []).filter((u) => !query.component || u === query.component);
  if (units.length === 0) return [];
  const args = ['journalctl', '--no-pager', '-o', 'json', '--output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT,UNIT,SYSLOG_IDENTIFIER', '--since', `@${Math.floor(query.since / 1000)}`];
  for (const unit of units) args.push('-u', unit);
  const result = await provider.exec(lab, machine, args).catch(() => null);
  if (!result) return [];
  return result.stdout.split('\n').flatMap((line) => parseJournalLine(line, machine) ?? []);
}

async function podLogs(provider: MachineProvider, lab: string, component: string, selector: string, since: number): Promise<LogEntry[]> {
  const script = [
    `test -s ${ADMIN_KUBECONFIG_ON_SERVER} && command -v kubectl >/dev/null || exit 0`,
    `kubectl --kubeconfig ${ADMIN_KUBECONFIG_ON_SERVER} logs -n kube-system -l ${selector} --timestamps --prefix --tail=-1 --since-time=${new Date(since).toISOString()} --max-log-requests=10 --request-timeout=5s 2>/dev/null`,
  ].join('\n');
  const result = await provider.exec(lab, 'server', ['bash', '-c', script]).catch(() => null);
  return result ? result.stdout.split('\n').flatMap((line) => parsePodLine(line, component) ?? []) : [];
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

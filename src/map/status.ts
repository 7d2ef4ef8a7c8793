import type { MachineProvider } from '../../vm/provider.ts';
import type { HealthChecks } from '../engine/faults.ts';
import { actorOfUser } from '../trace/audit.ts';
import { AUDIT_LOG } from '../trace/collect.ts';
import { expandLayout, type MapBox, type MapLayout, type MapLink } from './layout.ts';

/** A box's state: its health check passed, failed, or could not be run (machine stopped, check timed out). */
export type BoxState = 'ok' | 'failing' | 'unknown';

export interface ClusterMap {
  boxes: (MapBox & { state: BoxState; message?: string })[];
  links: MapLink[];
  /** Every check passes and nobody has written for SETTLE_MS. */
  settled: boolean;
  /** Who wrote in the last SETTLE_MS (from the audit log), most writes first. */
  writers: { actor: string; writes: number }[];
  checkedAt: number;
}

/** How long nobody may have written for the cluster to count as settled. */
export const SETTLE_MS = 20_000;
const CHECK_TIMEOUT_S = 8;
const MARK = 'hardway-map';
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * One script per machine running that machine's health checks side by side, each bounded by a
 * timeout; it prints "<mark> <index> <exit code>" per check. The server's also prints the audit
 * log's newest writes, cut down to who and when by jq.
 */
export function machineScript(checks: { run: string }[], withAudit: boolean): string {
  const lines = ['d=$(mktemp -d)'];
  checks.forEach((check, i) => lines.push(`{ timeout ${CHECK_TIMEOUT_S} bash -c ${quote(check.run)} >/dev/null 2>&1 </dev/null; echo $? > $d/${i}; } &`));
  lines.push('wait');
  checks.forEach((_check, i) => lines.push(`echo "${MARK} ${i} $(cat $d/${i})"`));
  lines.push('rm -rf "$d"');
  if (withAudit) lines.push(`echo "${MARK} audit"`, `tail -n 300 ${AUDIT_LOG} 2>/dev/null | jq -c '[.stageTimestamp, .user.username, .userAgent // ""]' 2>/dev/null`);
  return lines.join('\n');
}

/** Parses a machine script's output: exit codes by check index, and the audit rows after the mark. */
export function parseMachineOutput(stdout: string): { codes: Map<number, number>; audit: [string, string, string][] } {
  const codes = new Map<number, number>();
  const audit: [string, string, string][] = [];
  let inAudit = false;
  for (const line of stdout.split('\n')) {
    if (line === `${MARK} audit`) inAudit = true;
    else if (inAudit) {
      try {
        const row = JSON.parse(line) as unknown;
        if (Array.isArray(row) && row.length === 3) audit.push(row as [string, string, string]);
      } catch {
        // a torn line
      }
    } else {
      const m = line.match(new RegExp(`^${MARK} (\\d+) (\\d+)$`));
      if (m) codes.set(Number(m[1]), Number(m[2]));
    }
  }
  return { codes, audit };
}

/** Who wrote since a moment, most writes first. */
export function recentWriters(audit: [string, string, string][], since: number): { actor: string; writes: number }[] {
  const counts = new Map<string, number>();
  for (const [time, user, agent] of audit) {
    if (Date.parse(time) < since) continue;
    const actor = actorOfUser(user, agent);
    counts.set(actor, (counts.get(actor) ?? 0) + 1);
  }
  return [...counts.entries()].map(([actor, writes]) => ({ actor, writes })).sort((a, b) => b.writes - a.writes || a.actor.localeCompare(b.actor));
}

/**
 * The map's state: labs/health.yaml's checks (not its guards: those are about shortcuts, not
 * components), run as one exec per machine that has any, and the audit log's recent writers. It
 * reads only what a learner could observe, never which fault is active.
 */
export async function readClusterMap(provider: MachineProvider, lab: string, health: HealthChecks, layout: MapLayout, now = Date.now): Promise<ClusterMap> {
  const { boxes, links } = expandLayout(layout);
  const byMachine = new Map<string, { index: number; check: HealthChecks['health'][number] }[]>();
  health.health.forEach((check, index) => byMachine.set(check.machine, [...(byMachine.get(check.machine) ?? []), { index, check }]));
  if (!byMachine.has('server')) byMachine.set('server', []);
  const results = new Map<number, number>();
  let audit: [string, string, string][] = [];
  let auditRead = false;
  await Promise.all(
    [...byMachine.entries()].map(async ([machine, checks]) => {
      const script = machineScript(checks.map((c) => c.check), machine === 'server');
      const out = await provider.exec(lab, machine, ['bash', '-c', script], { timeoutMs: (CHECK_TIMEOUT_S + 7) * 1000 }).catch(() => null);
      if (!out) return;
      const parsed = parseMachineOutput(out.stdout);
      checks.forEach((c, i) => {
        const code = parsed.codes.get(i);
        if (code !== undefined) results.set(c.index, code);
      });
      if (machine === 'server' && out.stdout.includes(`${MARK} audit`)) [audit, auditRead] = [parsed.audit, true];
    }),
  );
  const stateOf = (component: string): { state: BoxState; message?: string } => {
    const checks = health.health.map((c, i) => ({ c, i })).filter(({ c }) => c.component === component);
    if (checks.length === 0) return { state: 'unknown' };
    const codes = checks.map(({ i }) => results.get(i));
    // A check that hangs has failed (as runner.ts grades it); one that could not run at all says nothing.
    if (codes.some((c) => c === undefined)) return { state: 'unknown', message: 'its check could not be run (is the machine running?)' };
    const failed = checks.find(({ i }) => results.get(i) !== 0);
    return failed ? { state: 'failing', message: failed.c.fail } : { state: 'ok' };
  };
  const shown = boxes.map((b) => ({ ...b, ...(b.health ? stateOf(b.health) : { state: 'unknown' as const }) }));
  const checkedAt = now();
  const writers = recentWriters(audit, checkedAt - SETTLE_MS);
  const healthy = health.health.every((_c, i) => results.get(i) === 0);
  return { boxes: shown, links, settled: healthy && auditRead && writers.length === 0, writers, checkedAt };
}

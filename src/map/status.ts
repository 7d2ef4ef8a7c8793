import type { MachineProvider } from '../../vm/provider.ts';
import type { HealthChecks } from '../engine/faults.ts';
import { actorOfUser } from '../trace/audit.ts';
import { AUDIT_LOG } from '../trace/collect.ts';
import { expandLayout, type MapBox, type MapLayout, type MapLink } from './layout.ts';

/** A box's state: its probe passed, failed, or could not be run (the server does not answer). */
export type BoxState = 'ok' | 'failing' | 'unknown';

export interface ClusterMap {
  boxes: (Omit<MapBox, 'probe'> & { state: BoxState; message?: string })[];
  links: MapLink[];
  /** Every probe passes and nobody has written for SETTLE_MS. */
  settled: boolean;
  /** Who wrote in the last SETTLE_MS (from the audit log), most writes first. */
  writers: { actor: string; writes: number }[];
  checkedAt: number;
}

/** How long nobody may have written for the cluster to count as settled. */
export const SETTLE_MS = 20_000;
const SCRIPT_TIMEOUT_MS = 15_000;
/** A probe's exit code for "what the server can observe does not say". */
const CANNOT_TELL = 3;
const MARK = 'hardway-map';
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The map's one script, run on the server: the prelude, then every box's probe in turn (each in a
 * subshell: one fork, no more), each printing "<mark> <index> <exit code>", then the audit log's newest
 * writes cut down to who, with what and when by grep.
 */
export function mapScript(prelude: string, probes: string[]): string {
  // Probes run as subshells of this one, so they see the prelude's variables and functions; each
  // network call in them carries its own --max-time, and the exec as a whole is bounded too.
  // (In turn, not side by side: backgrounding each would cost a second fork and a file.)
  const lines = ['d=$(mktemp -d)', 'trap \'rm -rf "$d"\' EXIT', prelude.trim()];
  // The same probe on two boxes (kube-proxy and its iptables) runs once.
  const distinct = [...new Set(probes)];
  distinct.forEach((probe, i) => lines.push(`(eval ${quote(probe)}) >/dev/null 2>&1 </dev/null; p${i}=$?`));
  probes.forEach((probe, i) => lines.push(`echo "${MARK} ${i} $p${distinct.indexOf(probe)}"`));
  // Who and when from each of the newest writes without parsing their bodies: grep picks the three
  // fields, in the order each line has them (username, userAgent, stageTimestamp).
  lines.push(`echo "${MARK} audit"`, `tail -n 100 ${AUDIT_LOG} 2>/dev/null | grep -o -e '"username":"[^"]*"' -e '"userAgent":"[^"]*"' -e '"stageTimestamp":"[^"]*"'`);
  return lines.join('\n');
}

/** Parses the script's output: exit codes by probe index, and the audit rows after the mark. */
export function parseMapOutput(stdout: string): { codes: Map<number, number>; audit: [string, string, string][] | null } {
  const codes = new Map<number, number>();
  let audit: [string, string, string][] | null = null;
  let [user, agent] = ['', ''];
  for (const line of stdout.split('\n')) {
    if (line === `${MARK} audit`) audit = [];
    else if (audit) {
      const field = line.match(/^"(username|userAgent|stageTimestamp)":"(.*)"$/);
      if (field?.[1] === 'username') [user, agent] = [field[2]!, ''];
      else if (field?.[1] === 'userAgent') agent = field[2]!;
      else if (field?.[1] === 'stageTimestamp' && user) audit.push([field[2]!, user, agent]);
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
 * The map's state, read in one exec on the server: each box's probe (labs/map.yaml), a red box
 * explained by its labs/health.yaml check's words, and the audit log's recent writers. It reads only
 * what a learner could observe, never which fault is active.
 */
export async function readClusterMap(provider: MachineProvider, lab: string, health: HealthChecks, layout: MapLayout, now = Date.now): Promise<ClusterMap> {
  const { boxes, links } = expandLayout(layout);
  const probed = boxes.filter((b) => b.probe);
  const out = await provider.exec(lab, 'server', ['bash', '-c', mapScript(layout.prelude, probed.map((b) => b.probe!))], { timeoutMs: SCRIPT_TIMEOUT_MS }).catch(() => null);
  const { codes, audit } = parseMapOutput(out?.stdout ?? '');
  const shown = boxes.map(({ probe: _probe, ...box }) => {
    const index = probed.findIndex((b) => b.id === box.id);
    const code = index >= 0 ? codes.get(index) : undefined;
    if (code === undefined || code === CANNOT_TELL) return { ...box, state: 'unknown' as const, ...(index >= 0 ? { message: code === CANNOT_TELL ? 'nothing the server can observe says how it is' : 'its state could not be read (is the server running?)' } : {}) };
    if (code === 0) return { ...box, state: 'ok' as const };
    return { ...box, state: 'failing' as const, message: health.health.find((h) => h.component === box.health)?.fail ?? 'its probe fails' };
  });
  const checkedAt = now();
  const writers = recentWriters(audit ?? [], checkedAt - SETTLE_MS);
  const healthy = probed.length > 0 && shown.every((b) => !b.health || b.state === 'ok');
  return { boxes: shown, links, settled: healthy && audit !== null && writers.length === 0, writers, checkedAt };
}

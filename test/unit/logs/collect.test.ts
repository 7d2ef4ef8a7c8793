import { describe, expect, it } from 'vitest';
import { LogFollower } from '../../../src/logs/follow.ts';
import { LOG_BOUNDS, collectLogTimeline, collectLogs } from '../../../src/logs/collect.ts';
import type { LogEntry } from '../../../src/logs/parse.ts';
import type { ExecOptions, ExecResult } from '../../../vm/provider.ts';
import { FakeProvider } from '../../helpers/fake-provider.ts';

/** Journals as the machines would print them; records each journalctl call. */
class JournalProvider extends FakeProvider {
  readonly calls: { machine: string; command: string[]; options: ExecOptions }[] = [];
  lines = new Map<string, string[]>();

  override async exec(lab: string, name: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push({ machine: name, command, options });
    if (command[0] !== 'journalctl') return { exitCode: 0, stdout: '', stderr: '' };
    await super.exec(lab, name, ['true'], options); // a missing or stopped machine fails as the real one does
    return { exitCode: 0, stdout: (this.lines.get(name) ?? []).join('\n'), stderr: '' };
  }
}

const journalLine = (time: number, unit: string, message: string) => JSON.stringify({ __REALTIME_TIMESTAMP: String(time * 1000), _SYSTEMD_UNIT: `${unit}.service`, PRIORITY: '6', MESSAGE: message });

describe('log collection is bounded and says what it could not read', () => {
  it('reads at most the last hour and a line cap per machine, with a timeout', async () => {
    const provider = new JournalProvider();
    provider.seed('unit');
    const before = Date.now();
    const timeline = await collectLogTimeline(provider, 'unit', { since: 1 });
    const journal = provider.calls.filter((c) => c.command[0] === 'journalctl');
    expect(journal.map((c) => c.machine).sort()).toEqual(['jumpbox', 'node-0', 'node-1', 'server']);
    for (const call of journal) {
      const since = Number(call.command[call.command.indexOf('--since') + 1]!.slice(1)) * 1000;
      expect(since).toBeGreaterThanOrEqual(Math.floor((before - LOG_BOUNDS.maxAgeMs) / 1000) * 1000);
      expect(call.command[call.command.indexOf('-n') + 1]).toBe(String(LOG_BOUNDS.maxLines));
      expect(call.options.timeoutMs).toBeGreaterThan(0);
    }
    expect(timeline.since).toBeGreaterThanOrEqual(before - LOG_BOUNDS.maxAgeMs);
    const pods = provider.calls.find((c) => c.command[0] === 'bash')!;
    expect(pods.command.at(-1)).toContain(`--tail=${LOG_BOUNDS.maxLines}`);
  });

  it('names a machine it could not read instead of showing it as quiet, and marks a journal cut to the cap', async () => {
    const provider = new JournalProvider();
    provider.seed('unit');
    await provider.stop('unit', 'node-1');
    const now = Date.now();
    provider.lines.set('server', [journalLine(now - 2000, 'etcd', 'one'), journalLine(now - 1000, 'etcd', 'two')]);
    const timeline = await collectLogTimeline(provider, 'unit', { since: now - 60_000, maxLines: 2 });
    expect(timeline.entries.map((e) => e.raw)).toEqual(['one', 'two']);
    expect(timeline.unreadable).toEqual([{ source: 'node-1', reason: expect.stringMatching(/not running/) as unknown as string }]);
    expect(timeline.truncated).toEqual(['server']);
    // collectLogs keeps its answer: the entries.
    expect((await collectLogs(provider, 'unit', { since: now - 60_000 })).map((e) => e.raw)).toEqual(['one', 'two']);
  });
});

const entry = (time: number, raw: string): LogEntry => ({ time, machine: 'server', component: 'etcd', severity: 'info', message: raw, raw });

describe('lab logs --follow', () => {
  it('prints each line once, keeping only the lines at the newest time', () => {
    const follower = new LogFollower(1000);
    expect(follower.fresh([entry(1000, 'a'), entry(1500, 'b'), entry(1500, 'c')]).map((e) => e.raw)).toEqual(['a', 'b', 'c']);
    expect(follower.since).toBe(1500);
    // The next read starts at the newest time: the lines at that time come again and are not printed twice.
    expect(follower.fresh([entry(1500, 'b'), entry(1500, 'c'), entry(1500, 'd'), entry(1600, 'e')]).map((e) => e.raw)).toEqual(['d', 'e']);
    expect(follower.since).toBe(1600);
  });

  it('moves on when nothing came (the first read was empty)', () => {
    const follower = new LogFollower(1000);
    expect(follower.fresh([])).toEqual([]);
    follower.polled(100_000);
    expect(follower.since).toBe(100_000 - LogFollower.LATE_MS);
    expect(follower.fresh([entry(50_000, 'old'), entry(95_000, 'new')]).map((e) => e.raw)).toEqual(['new']);
  });

  it('follows a quarter of a million lines without growing or throwing', () => {
    const follower = new LogFollower(0);
    let printed = 0;
    for (let batch = 0; batch < 250; batch++) {
      const lines = Array.from({ length: 1000 }, (_, i) => entry(batch * 1000 + i, `line ${batch}/${i}`));
      printed += follower.fresh(lines).length;
    }
    expect(printed).toBe(250_000);
    expect(follower.since).toBe(249_999);
  });
});

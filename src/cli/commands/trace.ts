import type { Command } from 'commander';
import pc from 'picocolors';
import { parseDuration } from '../../logs/collect.ts';
import { clockOf, type Trace, type TraceEntry } from '../../trace/model.ts';
import { LabError } from '../../util/errors.ts';
import { sleep } from '../../util/time.ts';
import { labOption, openLab } from '../context.ts';

const PALETTE = [pc.cyan, pc.magenta, pc.yellow, pc.green, pc.blue, pc.white];
const SOURCE_MARK: Record<TraceEntry['source'], string> = { audit: 'wrote', event: 'event', log: 'log', state: 'now' };

/** One line of the story: time, lane, what it is, in words; the raw record under it with --raw. */
export function formatTraceEntry(entry: TraceEntry, lanes: string[], raw: boolean): string {
  const time = clockOf(entry).padEnd(12);
  const colour = PALETTE[Math.max(0, lanes.indexOf(entry.actor)) % PALETTE.length]!;
  const what = entry.problem ? pc.red(entry.summary) : entry.source === 'log' ? pc.dim(entry.summary) : entry.summary;
  const line = `${pc.dim(time)} ${colour(entry.actor.padEnd(24))} ${pc.dim(SOURCE_MARK[entry.source].padEnd(5))} ${what}`;
  return raw ? `${line}\n${pc.dim(`      ${entry.raw}`)}` : line;
}

export function formatTraceHeader(trace: Trace): string {
  const objects = trace.objects.map((o) => `${o.kind} ${o.name}${o.exists ? '' : ' (gone)'}`).join(', ');
  return [`${pc.bold(`${trace.target.kind}/${trace.target.name}`)}${trace.target.namespace ? ` in ${trace.target.namespace}` : ''}: ${objects || 'no object of that name now'}`, pc.dim(`lanes: ${trace.lanes.join(' · ')}`)].join('\n');
}

interface TraceFlags {
  lab: string;
  namespace: string;
  since: string;
  follow?: boolean;
  raw?: boolean;
}

export function registerTraceCommand(program: Command): void {
  program
    .command('trace')
    .description('one object\'s story through the control loops: who wrote what, when (the audit log, Events, the objects, every component\'s log)')
    .argument('<kind/name>', 'deployment/NAME, replicaset/NAME, pod/NAME, service/NAME or node/NAME')
    .addOption(labOption())
    .option('-n, --namespace <ns>', 'the namespace', 'default')
    .option('--since <duration>', 'how far back (30s, 5m, 2h)', '30m')
    .option('--follow', 'keep printing what happens next until Ctrl-C')
    .option('--raw', 'print each entry\'s audit event, Event or log line as recorded')
    .action(async (ref: string, flags: TraceFlags) => {
      const window = parseDuration(flags.since);
      if (window === null) throw new LabError(`"${flags.since}" is not a duration`, 'use a number with s, m, h or d, like 30m', 2);
      const engine = await openLab(flags.lab);
      const printed = new Set<string>();
      const print = (trace: Trace): void => {
        for (const entry of trace.entries) {
          // A reading of current state (kube-proxy's rules, a lease) is printed again only when it changes.
          const key = entry.source === 'state' ? `${entry.actor}|${entry.object}|${entry.summary}` : `${entry.time}|${entry.actor}|${entry.raw}`;
          if (printed.has(key)) continue;
          printed.add(key);
          process.stdout.write(formatTraceEntry(entry, trace.lanes, flags.raw ?? false) + '\n');
        }
      };
      const first = await engine.trace(ref, { namespace: flags.namespace, sinceMs: window });
      process.stdout.write(formatTraceHeader(first) + '\n');
      for (const source of first.unreadable) process.stderr.write(pc.yellow(`Could not read ${source}; the story is partial.\n`));
      print(first);
      const started = Date.now();
      while (flags.follow) {
        await sleep(2000);
        print(await engine.trace(ref, { namespace: flags.namespace, sinceMs: window + (Date.now() - started) }));
      }
    });
}

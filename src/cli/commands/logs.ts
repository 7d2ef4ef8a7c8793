import { Option, type Command } from 'commander';
import pc from 'picocolors';
import { collectLogTimeline, LOG_BOUNDS, parseDuration, type LogQuery } from '../../logs/collect.ts';
import { COMPONENTS, MACHINE_NAMES } from '../../lab/topology.ts';
import { SEVERITIES, type LogEntry, type Severity } from '../../logs/parse.ts';
import { sleep } from '../../util/time.ts';
import { LabError } from '../../util/errors.ts';
import { checkLabName, engineProvider, labOption } from '../context.ts';
import { formatKnown } from './explain.ts';
import { LogFollower } from '../../logs/follow.ts';
import type { KnownMessage } from '../../logs/catalog.ts';

const PALETTE = [pc.cyan, pc.magenta, pc.yellow, pc.green, pc.blue, pc.red, pc.white];
const colourOf = (component: string) => PALETTE[Math.max(0, COMPONENTS.indexOf(component)) % PALETTE.length]!;
const LEVEL_STYLE: Record<Severity, (s: string) => string> = { debug: pc.dim, info: (s) => s, warn: pc.yellow, error: pc.red, fatal: (s) => pc.bold(pc.red(s)) };

/** One timeline line; a message the catalog knows as this lab's noise is dimmed whole, and --explain adds what it means. */
export function formatEntry(entry: LogEntry, raw: boolean, known: KnownMessage | null = null, explain = false): string {
  const time = new Date(entry.time).toISOString().slice(11, 23);
  const text = raw ? entry.raw : entry.message;
  if (known?.expected) {
    const line = pc.dim(`${time} ${entry.machine.slice(0, 10).padEnd(10)} ${entry.component.padEnd(23)} ${entry.severity.toUpperCase().padEnd(5)} ${text}`);
    return explain ? [line, ...formatKnown(known, '      ').map((l) => pc.dim(l))].join('\n') : line;
  }
  const who = colourOf(entry.component)(`${entry.machine.slice(0, 10).padEnd(10)} ${entry.component.padEnd(23)}`);
  const level = LEVEL_STYLE[entry.severity](entry.severity.toUpperCase().padEnd(5));
  const line = `${pc.dim(time)} ${who} ${level} ${text}`;
  return explain && known ? [line, ...formatKnown(known, '      ')].join('\n') : line;
}

interface LogsOptions {
  lab: string;
  machine?: string;
  component?: string;
  since: string;
  level?: string;
  grep?: string;
  follow?: boolean;
  raw?: boolean;
  quiet?: boolean;
  explain?: boolean;
}

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description('one time-ordered stream of every component\'s log, from every machine and the add-on pods')
    .addOption(labOption())
    .addOption(new Option('--machine <name>', 'only this machine').choices(MACHINE_NAMES))
    .addOption(new Option('--component <name>', 'only this component').choices(COMPONENTS))
    .option('--since <duration>', 'how far back (30s, 5m, 2h)', '5m')
    .addOption(new Option('--level <severity>', 'this severity and worse').choices(SEVERITIES))
    .option('--grep <text>', 'only lines containing this text (case-insensitive)')
    .option('--follow', 'keep printing new lines until Ctrl-C')
    .option('--raw', 'print each line as the component wrote it')
    .option('--quiet', 'hide the messages the catalog (labs/logs) knows as this lab\'s noise; they are dimmed otherwise')
    .option('--explain', 'print what each catalogued message means under it')
    .action(async (options: LogsOptions) => {
      const lab = checkLabName(options.lab);
      const window = parseDuration(options.since);
      if (window === null) throw new LabError(`"${options.since}" is not a duration`, 'use a number with s, m, h or d, like 5m', 2);
      const provider = await engineProvider();
      // The user's --since is honoured; the line cap per machine still bounds what one read costs.
      const query: LogQuery = { since: Date.now() - window, machine: options.machine, component: options.component, level: options.level as Severity | undefined, grep: options.grep, maxAgeMs: window };
      const follower = new LogFollower(query.since);
      const warned = new Set<string>();
      const read = async (since: number): Promise<LogEntry[]> => {
        const timeline = await collectLogTimeline(provider, lab, { ...query, since });
        for (const { source, reason } of timeline.unreadable) warnOnce(warned, `Could not read ${source}: ${reason}`);
        for (const source of timeline.truncated) warnOnce(warned, `${source}: more than ${LOG_BOUNDS.maxLines} lines; only the newest are shown. Narrow --since or add a filter.`);
        return timeline.entries;
      };
      const { loadCatalog } = await import('../../logs/catalog.ts');
      const { explainingLabFileErrors } = await import('../../engine/session.ts');
      const catalog = explainingLabFileErrors(() => loadCatalog());
      const print = (entries: LogEntry[]): void => {
        for (const entry of follower.fresh(entries)) {
          const known = catalog.lookup(entry);
          if (options.quiet && known?.expected) continue;
          process.stdout.write(formatEntry(entry, options.raw ?? false, known, options.explain ?? false) + '\n');
        }
      };
      const first = await read(query.since);
      if (first.length === 0 && !options.follow) process.stderr.write(`No log lines in the last ${options.since} match. Widen --since or drop a filter.\n`);
      print(first);
      while (options.follow) {
        await sleep(2000);
        const polled = Date.now();
        print(await read(follower.since));
        follower.polled(polled);
      }
    });
}

function warnOnce(warned: Set<string>, line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  process.stderr.write(`${pc.yellow(line)}\n`);
}

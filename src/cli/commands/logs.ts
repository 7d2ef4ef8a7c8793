import { Option, type Command } from 'commander';
import pc from 'picocolors';
import type { LogQuery } from '../../logs/collect.ts';
import { COMPONENTS, MACHINE_NAMES } from '../../lab/topology.ts';
import { SEVERITIES, type LogEntry, type Severity } from '../../logs/parse.ts';
import { sleep } from '../../util/time.ts';
import { LabError } from '../../util/errors.ts';
import { checkLabName, engineProvider, labOption } from '../context.ts';

const PALETTE = [pc.cyan, pc.magenta, pc.yellow, pc.green, pc.blue, pc.red, pc.white];
const colourOf = (component: string) => PALETTE[Math.max(0, COMPONENTS.indexOf(component)) % PALETTE.length]!;
const LEVEL_STYLE: Record<Severity, (s: string) => string> = { debug: pc.dim, info: (s) => s, warn: pc.yellow, error: pc.red, fatal: (s) => pc.bold(pc.red(s)) };

export function formatEntry(entry: LogEntry, raw: boolean): string {
  const time = new Date(entry.time).toISOString().slice(11, 23);
  const who = colourOf(entry.component)(`${entry.machine.slice(0, 10).padEnd(10)} ${entry.component.padEnd(23)}`);
  const level = LEVEL_STYLE[entry.severity](entry.severity.toUpperCase().padEnd(5));
  return `${pc.dim(time)} ${who} ${level} ${raw ? entry.raw : entry.message}`;
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
    .action(async (options: LogsOptions) => {
      const { collectLogs, parseDuration } = await import('../../logs/collect.ts');
      const lab = checkLabName(options.lab);
      const window = parseDuration(options.since);
      if (window === null) throw new LabError(`"${options.since}" is not a duration`, 'use a number with s, m, h or d, like 5m', 2);
      const provider = await engineProvider();
      const query: LogQuery = { since: Date.now() - window, machine: options.machine, component: options.component, level: options.level as Severity | undefined, grep: options.grep };
      const seen = new Set<string>();
      const print = (entries: LogEntry[]): void => {
        for (const entry of entries) {
          const key = `${entry.time}|${entry.machine}|${entry.component}|${entry.raw}`;
          if (seen.has(key)) continue;
          seen.add(key);
          process.stdout.write(formatEntry(entry, options.raw ?? false) + '\n');
        }
      };
      const first = await collectLogs(provider, lab, query);
      if (first.length === 0 && !options.follow) process.stderr.write(`No log lines in the last ${options.since} match. Widen --since or drop a filter.\n`);
      print(first);
      while (options.follow) {
        await sleep(2000);
        const newest = first.length ? Math.max(query.since, ...[...seen].map((k) => Number(k.split('|')[0]))) : query.since;
        print(await collectLogs(provider, lab, { ...query, since: newest }));
      }
    });
}

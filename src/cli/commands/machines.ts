import type { Command } from 'commander';
import pc from 'picocolors';
import { MACHINES, findMachine } from '../../lab/topology.ts';
import { LabError } from '../../util/errors.ts';
import { say, warn } from '../../util/output.ts';
import { checkLabName, checkMachineName, engineProvider, labFlag, labOption, openLab } from '../context.ts';
import { asRoot, openLoginShell } from '../../../vm/login-shell.ts';
import type { MachineProvider } from '../../../vm/provider.ts';

export function registerMachineCommands(program: Command): void {
  program
    .command('up')
    .description('create and start the lab\'s machines, then replay every chapter before <chapter> (a new lab starts from a matching snapshot); binaries not cached yet are built in the background; safe to re-run')
    .argument('[chapter]', 'the chapter to start at (earlier chapters are solved for you)')
    .addOption(labOption())
    .option('--no-snapshot', 'replay every chapter even when a snapshot matches')
    .option('--keep-snapshot', 'after replaying, keep a snapshot of the chapters before <chapter> unless one matches')
    .action(async (chapterText: string | undefined, options: { lab: string; snapshot: boolean; keepSnapshot?: boolean }) => {
      const chapter = chapterText === undefined ? undefined : Number(chapterText);
      if (chapter !== undefined && !Number.isInteger(chapter)) throw new LabError(`"${chapterText}" is not a chapter number`, 'see lab chapters', 2);
      const engine = await openLab(options.lab);
      const lab = engine.lab;
      const health = await engine.up(chapter, { snapshots: options.snapshot, keepSnapshot: Boolean(options.keepSnapshot) });
      for (const machine of health.filter((m) => m.systemState !== 'running')) {
        warn(`${machine.name}: systemd is ${machine.systemState}${machine.failedUnits.length ? ` (failed: ${machine.failedUnits.join(', ')})` : ''}`);
      }
      if (chapter !== undefined) say(`Chapter ${chapter} is ready. Read it with: lab show${labFlag(lab)}`);
      say(`Open a shell with: lab shell jumpbox${labFlag(lab)}`);
      await sayBackgroundBuild(await engine.binaries());
    });

  program
    .command('down')
    .description('remove every container, network and volume of the lab')
    .addOption(labOption())
    .action(async (options: { lab: string }) => {
      const engine = await openLab(options.lab);
      await engine.down();
      say(`Lab ${engine.lab} removed, with its progress.`);
    });

  program
    .command('status')
    .description('show the lab\'s machines, their addresses and state (all labs with --all), and the host\'s build of binaries')
    .addOption(labOption())
    .option('--all', 'show every lab on this engine')
    .action(async (options: { lab: string; all?: boolean }) => {
      const provider = await engineProvider();
      const machines = await provider.list(options.all ? undefined : checkLabName(options.lab));
      if (machines.length === 0) {
        say(options.all ? 'No labs.' : `Lab ${options.lab} has no machines. Start it with: lab up`);
        return sayBinaries();
      }
      say(pc.bold(['LAB'.padEnd(12), 'MACHINE'.padEnd(9), 'STATE'.padEnd(8), 'IP'.padEnd(15), 'ROLE'].join(' ')));
      const order = (name: string): number => MACHINES.findIndex((role) => role.name === name);
      machines.sort((a, b) => a.lab.localeCompare(b.lab) || order(a.name) - order(b.name));
      for (const m of machines) {
        const state = m.state === 'running' ? pc.green(m.state.padEnd(8)) : pc.yellow(m.state.padEnd(8));
        say([m.lab.padEnd(12), m.name.padEnd(9), state, (m.ip ?? '-').padEnd(15), findMachine(m.name)?.description ?? ''].join(' '));
      }
      await sayBinaries();
    });

  program
    .command('shell')
    .description('open an interactive root shell in a machine, like ssh')
    .argument('<machine>', 'jumpbox, server, node-0 or node-1')
    .addOption(labOption())
    .action(async (machine: string, options: { lab: string }) => {
      const lab = checkLabName(options.lab);
      const provider = await engineProvider();
      await requireRunning(provider, lab, checkMachineName(machine));
      process.exitCode = await attachTerminal(provider, lab, machine);
    });

  program
    .command('exec')
    .description('run one command in a machine and print its output; exits with its exit code')
    .argument('<machine>', 'jumpbox, server, node-0 or node-1')
    .argument('<command...>', 'the command, after --')
    .option('--workdir <dir>', "the directory it runs in (default: root's home, as ssh would)")
    .addOption(labOption())
    .action(async (machine: string, command: string[], options: { lab: string; workdir?: string }) => {
      const lab = checkLabName(options.lab);
      const provider = await engineProvider();
      await requireRunning(provider, lab, checkMachineName(machine));
      const result = await provider.exec(lab, machine, command, asRoot({ workdir: options.workdir }));
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      process.exitCode = result.exitCode;
    });
}

/** Connects this terminal to a login shell in the machine until the shell exits. */
async function attachTerminal(provider: MachineProvider, lab: string, machine: string): Promise<number> {
  const size = () => ({ columns: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
  const terminal = await openLoginShell(provider, lab, machine, size());
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.pipe(terminal.stream);
  terminal.stream.pipe(process.stdout);
  const onResize = (): void => void terminal.resize(size().columns, size().rows).catch(() => undefined);
  process.stdout.on('resize', onResize);
  const code = await terminal.exited;
  process.stdout.off('resize', onResize);
  stdin.unpipe(terminal.stream);
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  return code;
}

async function requireRunning(provider: MachineProvider, lab: string, machine: string): Promise<void> {
  const { requireRunningMachine } = await import('../../lab/machines.ts');
  await requireRunningMachine(provider, lab, machine);
}

/** The host's binaries under lab status: the build running (which binary, of how many), or how the last ended, and what is missing. */
async function sayBinaries(): Promise<void> {
  const [{ hostBinaries }, { describeBinaries }, { ARTIFACT_SETS }] = await Promise.all([
    import('../../artifacts/background.ts'),
    import('../../artifacts/build-status.ts'),
    import('../../artifacts/manifest.ts'),
  ]);
  const [first, ...rest] = describeBinaries(await hostBinaries.state(ARTIFACT_SETS));
  say(`${pc.bold('binaries:')} ${first}`);
  for (const line of rest) say(`  ${line}`);
}

/** After lab up: the binaries still being built while the learner starts. */
async function sayBackgroundBuild(binaries: import('../../artifacts/build-status.ts').BinariesState): Promise<void> {
  if (binaries.missing.length === 0) return;
  const { describeBuild } = await import('../../artifacts/build-status.ts');
  const doing = binaries.build?.state === 'building' ? ` (${describeBuild(binaries.build)})` : '';
  say(`The binaries are being built in the background${doing}; lab status shows how far. A step that needs them waits for them.`);
}

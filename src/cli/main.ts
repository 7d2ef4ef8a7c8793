import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { USAGE_EXIT_CODE } from '../util/errors.ts';
import { reportFailure } from './output.ts';
import { registerArtifactCommands } from './commands/artifacts.ts';
import { registerChapterCommands } from './commands/chapters.ts';
import { registerFaultCommands } from './commands/faults.ts';
import { registerHostCommands } from './commands/host.ts';
import { registerLogsCommand } from './commands/logs.ts';
import { registerExplainCommand } from './commands/explain.ts';
import { registerMachineCommands } from './commands/machines.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerRoomCommands } from './commands/room.ts';
import { registerSnapshotCommands } from './commands/snapshots.ts';
import { fromPackage } from '../util/package-root.ts';

const { version } = JSON.parse(readFileSync(fromPackage('package.json'), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('lab')
    .description('Kubernetes the hard way, on machines of your own')
    .version(version, '-V, --version')
    .showSuggestionAfterError(true)
    .showHelpAfterError(false);
  registerHostCommands(program);
  registerMachineCommands(program);
  registerChapterCommands(program);
  registerSnapshotCommands(program);
  registerArtifactCommands(program);
  registerServeCommand(program);
  registerRoomCommands(program);
  registerLogsCommand(program);
  registerExplainCommand(program);
  registerFaultCommands(program);
  configureErrors(program);
  return program;
}

/** Every command answers usage errors on one line with exit code 2, and throws instead of exiting. */
function configureErrors(command: Command): void {
  const helpCommand = ['lab', ...commandPath(command)].join(' ') + ' --help';
  command.exitOverride().configureOutput({ outputError: (text, write) => write(oneLine(text, helpCommand) + '\n') });
  for (const sub of command.commands) configureErrors(sub);
}

function commandPath(command: Command): string[] {
  return command.parent ? [...commandPath(command.parent), command.name()] : [];
}

function oneLine(text: string, helpCommand: string): string {
  const joined = text.trim().replace(/\s*\n\s*/g, ' ');
  return /did you mean/i.test(joined) ? joined : `${joined} (see ${helpCommand})`;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      const informational = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
      return informational ? 0 : USAGE_EXIT_CODE;
    }
    return reportFailure(error);
  }
}

// A reader that stops early (`lab logs | head`) closes the pipe: that is an ordinary end, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));

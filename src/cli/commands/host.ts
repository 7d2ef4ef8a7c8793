import type { Command } from 'commander';
import pc from 'picocolors';
import type { CheckResult } from '../../host/doctor.ts';
import { LabError } from '../../util/errors.ts';
import { say } from '../../util/output.ts';

const MARK = { ok: pc.green('✓'), warn: pc.yellow('!'), fail: pc.red('✗') } as const;

export function formatResult(result: CheckResult): string {
  const line = `${MARK[result.verdict]} ${result.name.padEnd(14)} ${result.detail}`;
  return result.fix && result.verdict !== 'ok' ? `${line}\n  ${pc.dim('fix:')} ${result.fix}` : line;
}

export function registerHostCommands(program: Command): void {
  program
    .command('doctor')
    .description('check that this host can run labs, and say how to fix what is missing')
    .action(async () => {
      // Host facts probe the Docker engine (dockerode): loaded only when the command runs.
      const [{ diagnose, hostIsReady }, { gatherHostFacts }] = await Promise.all([import('../../host/doctor.ts'), import('../../host/facts.ts')]);
      const results = diagnose(await gatherHostFacts());
      for (const result of results) say(formatResult(result));
      if (!hostIsReady(results)) {
        throw new LabError('this host cannot run a lab yet', 'run the fix commands above (usually: lab setup), then lab doctor again');
      }
      say('Host is ready.');
    });

  program
    .command('setup')
    .description('install what is missing (Debian/Ubuntu, as root) and start the Docker engine; safe to re-run')
    .option('--dev', 'also install what hardway\'s own tests need (chromium)')
    .option('--image', 'also build the machine image now (lab up builds it when it is first needed)')
    .action(async (options: { dev?: boolean; image?: boolean }) => {
      const { setupHost } = await import('../../host/setup.ts');
      await setupHost({ dev: options.dev ?? false });
      if (options.image) {
        const { DockerProvider } = await import('../../../vm/docker-provider.ts');
        say(`Machine image ${await new DockerProvider().ensureMachineImage()} is ready.`);
      }
    });
}

import { Option, type Command } from 'commander';
import { LabError } from '../../util/errors.ts';
import { say, warn } from '../../util/output.ts';
import { labOption, openLab } from '../context.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('the browser lab: start a lab at any chapter, instructions beside a terminal per machine, break-and-fix')
    .addOption(labOption())
    .addOption(new Option('--port <port>', 'port to listen on').default('7070'))
    .addOption(new Option('--host <address>', 'address to listen on (anything but loopback exposes root shells: take care)').default('127.0.0.1'))
    .action(async (options: { lab: string; port: string; host: string }) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new LabError(`"${options.port}" is not a port number`, 'use a number from 1 to 65535', 2);
      const engine = await openLab(options.lab);
      const lab = engine.lab;
      const { startServer } = await import('../../web/server.ts');
      const { ensureUiBuilt } = await import('../../web/ui-build.ts');
      const uiDir = await ensureUiBuilt();
      const server = await startServer({ engine, host: options.host, port, uiDir }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') throw new LabError(`port ${port} is already in use`, `pick another: lab serve --port ${port + 1}`);
        throw error;
      });
      if (!['127.0.0.1', 'localhost', '::1'].includes(options.host)) warn(`Listening on ${options.host}: anyone with the URL below gets root shells in your lab.`);
      say(`Lab ${lab} is served at:\n\n  ${server.url}\n\nThe token in the URL is required for every request. Ctrl-C stops the server.`);
      await new Promise<void>((resolve) => {
        const stop = (): void => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

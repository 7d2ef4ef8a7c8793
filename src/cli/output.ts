import pc from 'picocolors';
import { LabError } from './errors.ts';

export const say = (line: string): void => {
  process.stdout.write(line + '\n');
};

export const warn = (line: string): void => {
  process.stderr.write(pc.yellow(line) + '\n');
};

/** Prints any failure as a sentence plus a next step; stack traces only with LAB_DEBUG=1. */
export function reportFailure(error: unknown): number {
  if (error instanceof LabError) {
    process.stderr.write(pc.red(`error: ${error.message}`) + '\n');
    if (error.next) process.stderr.write(`next: ${error.next}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(pc.red(`error: ${message}`) + '\n');
  process.stderr.write('next: re-run with LAB_DEBUG=1 for details, and report it if it persists\n');
  if (process.env.LAB_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return 1;
}

/** A one-line progress indicator: rewrites its line on a terminal, prints plain lines elsewhere. */
export class Progress {
  private lastWidth = 0;
  constructor(private readonly label: string) {}

  update(detail: string): void {
    const line = `${this.label}: ${detail}`;
    if (process.stderr.isTTY) {
      process.stderr.write('\r' + line.padEnd(this.lastWidth));
      this.lastWidth = line.length;
    } else {
      process.stderr.write(line + '\n');
    }
  }

  done(detail: string): void {
    if (process.stderr.isTTY) process.stderr.write('\r' + ' '.repeat(this.lastWidth) + '\r');
    process.stderr.write(`${pc.green('✓')} ${this.label}: ${detail}\n`);
    this.lastWidth = 0;
  }
}

import pc from 'picocolors';
import { LabError } from '../util/errors.ts';

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

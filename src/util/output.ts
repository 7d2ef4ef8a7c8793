import { AsyncLocalStorage } from 'node:async_hooks';
import pc from 'picocolors';

/**
 * Where long work reports what it is doing. The CLI prints to the terminal; the web server collects
 * the lines of one job for its page. Deep layers (machine image, binaries) just make a `Progress`;
 * whoever started the work decides where its lines go, with `reportingTo`.
 */
export interface OutputSink {
  /** A progress line that replaces the previous one of the same label. */
  update(label: string, detail: string): void;
  /** The end of a labelled piece of work. */
  done(label: string, detail: string): void;
  /** A plain line of output. */
  say(line: string): void;
  warn(line: string): void;
}

const terminalSink: OutputSink = (() => {
  let lastWidth = 0;
  return {
    update(label, detail) {
      const line = `${label}: ${detail}`;
      if (process.stderr.isTTY) {
        process.stderr.write('\r' + line.padEnd(lastWidth));
        lastWidth = line.length;
      } else {
        process.stderr.write(line + '\n');
      }
    },
    done(label, detail) {
      if (process.stderr.isTTY && lastWidth > 0) process.stderr.write('\r' + ' '.repeat(lastWidth) + '\r');
      process.stderr.write(`${pc.green('✓')} ${label}: ${detail}\n`);
      lastWidth = 0;
    },
    say: (line) => void process.stdout.write(line + '\n'),
    warn: (line) => void process.stderr.write(pc.yellow(line) + '\n'),
  };
})();

const sinks = new AsyncLocalStorage<OutputSink>();
const sink = (): OutputSink => sinks.getStore() ?? terminalSink;

/** Runs `work` with every line it reports (however deep) sent to `to`. */
export function reportingTo<T>(to: OutputSink, work: () => Promise<T>): Promise<T> {
  return sinks.run(to, work);
}

/** Where lines go now: for a sink that passes them on (a build's log that also shows on the terminal). */
export const currentSink = (): OutputSink => sink();

export const say = (line: string): void => sink().say(line);
export const warn = (line: string): void => sink().warn(line);

/** A one-line progress indicator: rewrites its line on a terminal, prints plain lines elsewhere. */
export class Progress {
  constructor(private readonly label: string) {}

  update(detail: string): void {
    sink().update(this.label, detail);
  }

  done(detail: string): void {
    sink().done(this.label, detail);
  }
}

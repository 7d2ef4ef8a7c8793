import { appendFileSync } from 'node:fs';
import { commandBlocks, type CommandBlock } from '../../src/engine/prose.ts';
import type { MachineName, Step } from '../../src/engine/course.ts';
import { TerminalRegistry, type TerminalSession } from '../../src/web/terminals.ts';
import type { MachineProvider } from '../../vm/provider.ts';

/** What a learner's terminal looks like to the typist: as wide as a browser's, so nothing wraps oddly. */
const SIZE = { columns: 160, rows: 48 };
/** How long one block may run before the typist gives up on it (the upgrade's drains take about a minute). */
const BLOCK_TIMEOUT_MS = 8 * 60_000;
/** How long a block typed into the second shell is given to finish before it is taken for a watch left running. */
const SECOND_SHELL_SETTLE_MS = 5_000;
/** How long the prompt must stand with nothing printed after it before the block is taken as ended. */
const QUIET_MS = 1_500;
/** Debian's root prompt (`root@host:dir# `, from /etc/bash.bashrc) as the screen's last line. */
const PROMPT_AT_END = /(?:^|\n)[^\n]*root@([\w.-]+):([^\n]*)# $/;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-B]|\r/g;

/** One terminal as a learner has it: keystrokes in, the screen's text out. */
export class TypedShell {
  private screen = '';
  private lastOutput = Date.now();
  private waiter: (() => void) | null = null;
  /** Whether the last block typed here has not finished yet (a watch still running). */
  busy = false;

  constructor(
    private readonly session: TerminalSession,
    readonly name: string,
    private readonly transcript?: string,
  ) {
    session.attach(
      {
        send: (data) => {
          const text = data.toString('utf8');
          this.screen += text;
          this.lastOutput = Date.now();
          if (this.screen.length > 4_000_000) this.screen = this.screen.slice(-2_000_000);
          if (this.transcript) appendFileSync(this.transcript, text.replace(ANSI, ''));
          this.waiter?.();
        },
        close: () => this.waiter?.(),
      },
      0,
    );
  }

  /** Whether its shell has ended (the machine stopped, or the shell exited). */
  get ended(): boolean {
    return this.session.ended;
  }

  /** The screen's last characters, escapes removed: what a failure shows. */
  tail(characters = 3000): string {
    return this.screen.replace(ANSI, '').slice(-characters);
  }

  /** The prompt the screen ends with, if it ends with one: the host and directory it names. */
  private prompt(): { host: string; directory: string } | null {
    const found = this.screen.slice(-4000).replace(ANSI, '').match(PROMPT_AT_END);
    return found ? { host: found[1]!, directory: found[2]! } : null;
  }

  /**
   * Waits until the shell is back at its prompt and has printed nothing for a moment: the block's
   * last command ended, as a learner sees it. Nothing is typed ahead to find out (a command that reads
   * its input would take it), so a block is typed exactly as a learner pastes it.
   */
  private async waitForPrompt(since: number, timeoutMs: number): Promise<{ host: string; directory: string } | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const quietFor = Date.now() - this.lastOutput;
      const prompt = this.screen.length > since ? this.prompt() : null;
      if (prompt && quietFor >= QUIET_MS) return prompt;
      if (this.session.ended || Date.now() > deadline) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, prompt ? QUIET_MS - quietFor : 1000);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  private type(code: string): number {
    const since = this.screen.length;
    this.session.write(Buffer.from(code.endsWith('\n') ? code : `${code}\n`));
    return since;
  }

  /** Waits for the login shell's first prompt. */
  async ready(what: string): Promise<void> {
    if (!(await this.waitForPrompt(0, 60_000))) throw new Error(`${what}: no prompt within 60 s. The screen:\n${this.tail()}`);
  }

  /** Types a block and waits for it to end, as a learner waits for the prompt before pasting the next. */
  async run(code: string, what: string): Promise<{ host: string; directory: string }> {
    if (this.session.ended) throw new Error(`${what}: the ${this.name} has ended`);
    const done = await this.waitForPrompt(this.type(code), BLOCK_TIMEOUT_MS);
    if (!done) {
      throw new Error(`${what}: the ${this.name} was not back at its prompt within ${BLOCK_TIMEOUT_MS / 1000} s${this.session.ended ? ' (the shell ended)' : ''}. The screen:\n${this.tail()}`);
    }
    return done;
  }

  /** Types a block that may run until stopped (a watch): waits a moment for it, then leaves it running. */
  async start(code: string, what: string): Promise<void> {
    if (this.busy) await this.interrupt(what);
    this.busy = (await this.waitForPrompt(this.type(code), SECOND_SHELL_SETTLE_MS)) === null;
  }

  /** Ctrl-C, as a learner stops a watch before typing the next command; then waits for the prompt. */
  async interrupt(what: string): Promise<void> {
    const since = this.screen.length;
    this.session.write(Buffer.from('\x03'));
    if (!(await this.waitForPrompt(since, 30_000))) throw new Error(`${what}: Ctrl-C did not bring the ${this.name} back to its prompt. The screen:\n${this.tail()}`);
    this.busy = false;
  }
}

export interface TypedBlock {
  block: CommandBlock;
  /** Where the shell was when it ended (null: still running in the second shell, or not typed). */
  host: string | null;
}

/**
 * A learner at the lab's terminals, as the browser lab gives them: one shell per machine, opened as
 * the page opens it (the same registry and PTY path the page's keystrokes take), and a second shell
 * beside it where the prose types there. Each block of a step's prose goes to the terminal of the
 * machine it names, else of the step's machine (the page's "Run on" button); `ssh root@X` in a block
 * takes that terminal into X as it would a learner's. Blocks for the learner's own computer are not
 * typed.
 */
export class Typist {
  private readonly registry: TerminalRegistry;
  private readonly shells = new Map<string, TypedShell>();

  constructor(
    private readonly provider: MachineProvider,
    private readonly lab: string,
    private readonly transcript?: string,
  ) {
    this.registry = new TerminalRegistry(provider, lab, 24 * 60 * 60_000);
  }

  private async shell(machine: MachineName, which: 'first' | 'second'): Promise<TypedShell> {
    const key = `${machine}/${which}`;
    // A shell that ended with its machine (a snapshot stops the lab) is opened anew, as the page reconnects to a new one.
    const existing = this.shells.get(key);
    if (existing && !existing.ended) return existing;
    const session = await this.registry.open(`typist-${which}`, machine, SIZE.columns, SIZE.rows);
    const shell = new TypedShell(session, `${machine}'s ${which === 'first' ? 'terminal' : 'second shell'}`, this.transcript);
    // The login shell's prompt first, so the first block is not typed into bash's start-up.
    await shell.ready(`opening the ${shell.name}`);
    this.shells.set(key, shell);
    return shell;
  }

  /** Types every block of the step's prose; returns where each ran. Throws when a block never ends. */
  async typeStep(step: Step, name: string): Promise<TypedBlock[]> {
    const typed: TypedBlock[] = [];
    for (const [index, block] of commandBlocks(step.prose).entries()) {
      const machine = block.machine ?? step.machine;
      const what = `${name}, block ${index + 1}`;
      if (this.transcript) appendFileSync(this.transcript, `\n\n===== ${what} (${block.place === 'host' ? 'host' : `${machine}'s ${block.place}`}) =====\n`);
      if (block.place === 'host') {
        typed.push({ block, host: null });
      } else if (block.place === 'second-shell') {
        await (await this.shell(machine, 'second')).start(block.code, what);
        typed.push({ block, host: null });
      } else {
        const { host } = await (await this.shell(machine, 'first')).run(block.code, what);
        typed.push({ block, host });
      }
    }
    return typed;
  }

  /** The last screenful of each shell, for a failure's message. */
  screens(): string {
    return [...this.shells.values()].map((s) => `--- ${s.name} ---\n${s.tail(2000)}`).join('\n');
  }

  close(): void {
    this.registry.closeAll(4000, 'the typist is done');
  }
}

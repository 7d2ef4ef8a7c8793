import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, MachineProvider } from '../../../vm/provider.ts';
import { outputTail, runScript } from '../../../src/engine/runner.ts';

/** Only exec, run by this host's bash (in /tmp): what runScript adds to a script is real bash. */
const hostShell = {
  async exec(_lab: string, _name: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const result = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', timeout: options.timeoutMs, cwd: '/tmp', env: { ...process.env, ...options.env } });
    return { exitCode: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  },
} as unknown as MachineProvider;

describe('running a script in a machine', () => {
  it('stops at the first failing command and names it with its line, even when it printed nothing', async () => {
    const outcome = await runScript(hostShell, 'lab', 'server', 'echo started\ntrue\ngrep -q never-there /dev/null\necho not reached');
    expect(outcome).toEqual({ ok: false, exitCode: 1, output: 'started\nhardway: line 3 failed with exit code 1: grep -q never-there /dev/null' });
  });

  it('a failing pipeline and an unset variable stop it too; a script that passes says nothing more', async () => {
    expect((await runScript(hostShell, 'lab', 'server', 'x=1\n  echo a | grep -q b | cat  ')).output).toBe('hardway: line 2 failed with exit code 1: echo a | grep -q b | cat');
    expect((await runScript(hostShell, 'lab', 'server', 'echo "$NOT_SET"')).output).toMatch(/NOT_SET: unbound variable/);
    expect(await runScript(hostShell, 'lab', 'server', 'false || echo handled')).toEqual({ ok: true, exitCode: 0, output: 'handled' });
  });
});

describe('the tail of a script\'s output', () => {
  it('keeps the last 15 lines, and says that earlier ones were cut', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
    const tail = outputTail(`${lines.join('\n')}\n`);
    expect(tail.split('\n')).toEqual(['…', ...lines.slice(25)]);
    expect(outputTail('  one\ntwo\n')).toBe('one\ntwo');
  });

  it('keeps at most 2000 characters of one long line', () => {
    const tail = outputTail('x'.repeat(5000) + 'END');
    expect(tail.startsWith('…\n')).toBe(true);
    expect(tail.length).toBe(2 + 2000);
    expect(tail.endsWith('END')).toBe(true);
  });
});

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { execScripts, type ExecCommand } from '../../../vm/exec-scripts.ts';
import type { ExecResult } from '../../../vm/provider.ts';

/** Run by this host's bash: the batch wrapper is real bash, whatever machine runs it. */
const hostShell: ExecCommand = async (command, options = {}) => {
  const result = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', timeout: options.timeoutMs, cwd: options.workdir });
  return { exitCode: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
};

describe('execScripts runs several scripts through one exec', () => {
  it('gives each script its own exit code, output and error, in order, whatever they print', async () => {
    const results = await execScripts(hostShell, 'm', [
      'echo one; echo two >&2',
      'printf "0 0 Zm9v Zm9v\\nnot a result line\\n"; exit 3',
      'printf "ünïcode ✓"',
      'exit 0',
    ], { timeoutMs: 10_000, workdir: '/tmp' });
    expect(results).toEqual([
      { exitCode: 0, stdout: 'one\n', stderr: 'two\n', timedOut: false },
      { exitCode: 3, stdout: '0 0 Zm9v Zm9v\nnot a result line\n', stderr: '', timedOut: false },
      { exitCode: 0, stdout: 'ünïcode ✓', stderr: '', timedOut: false },
      { exitCode: 0, stdout: '', stderr: '', timedOut: false },
    ]);
  });

  it('runs them at once, and stops one that runs out of its time without holding up the others\' results', async () => {
    const started = Date.now();
    const results = await execScripts(hostShell, 'm', ['sleep 1; echo slept', 'sleep 1; echo slept too', 'sleep 30'], { timeoutMs: 2000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(results[0]).toMatchObject({ exitCode: 0, stdout: 'slept\n' });
    expect(results[1]).toMatchObject({ exitCode: 0, stdout: 'slept too\n' });
    expect(results[2]).toMatchObject({ timedOut: true });
  });

  it('says so when the batch itself ends before reporting a script', async () => {
    const broken: ExecCommand = async (): Promise<ExecResult> => ({ exitCode: 137, stdout: '0 0  \n', stderr: 'killed' });
    const results = await execScripts(broken, 'node-0', ['true', 'true'], { timeoutMs: 1000 });
    expect(results[0]).toEqual({ exitCode: 0, stdout: '', stderr: '', timedOut: false });
    expect(results[1]!.exitCode).toBe(-1);
    expect(results[1]!.stderr).toMatch(/batch of checks on node-0 ended early \(exit 137\): killed/);
  });
});

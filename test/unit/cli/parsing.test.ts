import { describe, expect, it } from 'vitest';
import { lab } from '../../helpers/cli.ts';

describe('lab command line', () => {
  it('prints help listing its commands', () => {
    const result = lab(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: lab/);
    expect(result.stdout).toMatch(/doctor/);
    expect(result.stdout).toMatch(/setup/);
  });

  it('prints the package version', () => {
    const result = lab(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('has help for every command', () => {
    const commands = lab(['--help']).stdout.match(/^ {2}(\w+)/gm)!.map((m) => m.trim()).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(1);
    for (const command of commands) {
      const result = lab([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout, command).toContain(`Usage: lab ${command}`);
    }
  });

  it('answers a misspelt command with the closest one, on one line, exit 2', () => {
    const result = lab(['doctr']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/unknown command 'doctr'.*Did you mean doctor\?/);
  });

  it('answers an unknown flag on one line with where to look, exit 2', () => {
    const result = lab(['doctor', '--frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe("error: unknown option '--frobnicate' (see lab doctor --help)");
  });

  it('answers an unknown command with no close match by pointing at help', () => {
    const result = lab(['zzzzzz']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe("error: unknown command 'zzzzzz' (see lab --help)");
  });
});

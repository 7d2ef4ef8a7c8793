import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { helperCommand, helperContainerOptions } from '../../../vm/helper-container.ts';
import { machineSecurityOptions } from '../../../vm/machine-security.ts';

describe('a helper container', () => {
  const run = { script: 'printf "%s|" "$0" "$@"', args: ['x; touch /pwned', '$(id)', 'two words'] };

  it('runs its script with the values as positional parameters, $1 on, each as it was given', () => {
    const [shell, ...args] = helperCommand(run);
    expect([shell, ...args]).toEqual(['sh', '-c', run.script, 'sh', ...run.args]);
    expect(spawnSync(shell!, args, { encoding: 'utf8' }).stdout).toBe('sh|x; touch /pwned|$(id)|two words|');
  });

  it('is a container bounded as a machine is, with the settings given added', () => {
    const options = helperContainerOptions('img', run, 'testing', { Mounts: [{ Type: 'volume', Source: 'v', Target: '/to' }] });
    expect(options).toMatchObject({ Image: 'img', Entrypoint: helperCommand(run), Cmd: [], Labels: { 'hardway.helper': 'testing' } });
    expect(options.HostConfig).toEqual({
      ...machineSecurityOptions(),
      NetworkMode: 'none',
      Mounts: [{ Type: 'volume', Source: 'v', Target: '/to' }],
    });
  });
});

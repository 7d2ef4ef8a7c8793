import { beforeAll, describe, expect, it } from 'vitest';
import { lab } from '../../helpers/cli.ts';
import { ensureEngine } from '../../helpers/engine.ts';

describe('lab doctor and lab setup against the real engine', () => {
  beforeAll(ensureEngine);

  it('reports a healthy host with the engine version', () => {
    const result = lab(['doctor']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/✓ docker engine +Docker \d+\.\d+/);
    expect(result.stdout).toMatch(/Host is ready\./);
  });

  it('lab setup on a set-up host changes nothing and says so', () => {
    const result = lab(['setup']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Nothing to change/);
  });

  it('an engine that does not answer gives one sentence and a next step, no stack trace', () => {
    const result = lab(['doctor'], { DOCKER_HOST: 'unix:///tmp/hardway-no-engine-here.sock' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ docker engine +DOCKER_HOST=unix:\/\/\/tmp\/hardway-no-engine-here\.sock does not answer/);
    expect(result.stdout).toMatch(/fix: start that engine, or unset DOCKER_HOST/);
    expect(result.stderr).toMatch(/^error: this host cannot run a lab yet\nnext: /);
    expect(result.stderr + result.stdout).not.toMatch(/\n\s+at /);
  });
});

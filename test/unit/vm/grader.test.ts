import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GRADER_LABEL, GRADER_RELEASES, gradedCommand, graderContainerOptions, graderIsCurrent, graderKey } from '../../../vm/grader.ts';
import { machineSecurityOptions } from '../../../vm/machine-security.ts';

const spec = { lab: 'lab1', machine: 'server', machineId: 'abc123', image: 'hardway/machine:x', releases: '/cache/artifacts', key: 'k'.repeat(64) };

describe("a machine's grader", () => {
  it('is bounded as a machine is, in the machine\'s processes and network, with the release files read-only and nothing else of the host', () => {
    const options = graderContainerOptions(spec, { Memory: 5 });
    expect(options).toMatchObject({ name: 'hardway-lab1-server-grader', Image: 'hardway/machine:x', Labels: { [GRADER_LABEL]: 'lab1' } });
    expect(options.HostConfig).toEqual({
      ...machineSecurityOptions(),
      PidMode: 'container:abc123',
      NetworkMode: 'container:abc123',
      Binds: [`/cache/artifacts:${GRADER_RELEASES}:ro`],
      Memory: 5,
    });
    expect(options.Env).toEqual(expect.arrayContaining([`HARDWAY_GRADER_KEY=${spec.key}`, 'HARDWAY_GRADER_MACHINE=server']));
    expect(graderContainerOptions({ ...spec, releases: undefined }).HostConfig!.Binds).toEqual([]);
  });

  it('marks with a key of the lab\'s own, the same for every grader of a lab and different between labs', () => {
    expect(graderKey('net-a')).toBe(graderKey('net-a'));
    expect(graderKey('net-a')).not.toBe(graderKey('net-b'));
    expect(graderKey('net-a')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves only the machine\'s current start: a grader from before a restart, of another machine, or stopped is replaced', () => {
    const machine = { Id: 'm1', State: { StartedAt: '2026-12-04T10:00:00Z' } };
    const grader = { Id: 'g', State: { Running: true, StartedAt: '2026-12-04T10:00:05Z' }, HostConfig: { PidMode: 'container:m1' } };
    expect(graderIsCurrent(grader, machine)).toBe(true);
    expect(graderIsCurrent(null, machine)).toBe(false);
    expect(graderIsCurrent({ ...grader, State: { ...grader.State, Running: false } }, machine)).toBe(false);
    expect(graderIsCurrent({ ...grader, HostConfig: { PidMode: 'container:other' } }, machine)).toBe(false);
    expect(graderIsCurrent(grader, { ...machine, State: { StartedAt: '2026-12-04T10:01:00Z' } })).toBe(false);
  });

  it('runs a check through grade.sh, and grade.pl puts the machine\'s /usr/local last on a clean PATH', () => {
    expect(gradedCommand(['bash', '-c', 'kubectl version'])).toEqual(['bash', '/run/hardway-grader/grade.sh', 'bash', '-c', 'kubectl version']);
    const grade = readFileSync(new URL('../../../vm/grader/grade.pl', import.meta.url), 'utf8');
    expect(spawnSync('perl', ['-c', '-'], { input: grade, encoding: 'utf8' }).stderr).toMatch(/syntax OK/);
    const path = /my \$PATH = "([^"]+)"/.exec(grade)![1]!.replace('$DIR', '/run/hardway-grader').split(':');
    expect(path[0]).toBe('/run/hardway-grader/bin');
    expect(path.slice(-2)).toEqual(['/usr/local/sbin', '/usr/local/bin']);
  });
});

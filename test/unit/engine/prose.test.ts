import { describe, expect, it } from 'vitest';
import { commandBlocks, readFenceInfo } from '../../../src/engine/prose.ts';
import { loadCourse } from '../../../src/engine/course.ts';

describe("a step's blocks of commands", () => {
  it('are the bash blocks in order, each with where it is typed; sample output and indented code are not commands', () => {
    const prose = [
      'Watch in the second shell:',
      '',
      '```bash second-shell',
      'kubectl get pods -w',
      '```',
      '',
      '```bash',
      "cat > machines.txt <<EOF",
      'a b',
      'EOF',
      '```',
      '',
      '```',
      'sample output',
      '```',
      '',
      '    indented code',
      '',
      '```bash host',
      'lab down',
      '```',
    ].join('\n');
    expect(commandBlocks(prose)).toEqual([
      { code: 'kubectl get pods -w\n', place: 'second-shell', line: 2 },
      { code: 'cat > machines.txt <<EOF\na b\nEOF\n', place: 'terminal', line: 6 },
      { code: 'lab down\n', place: 'host', line: 18 },
    ]);
  });

  it('reads a fence info string: unknown words are reported, sample output has none', () => {
    expect(readFenceInfo('bash')).toEqual({ commands: true, place: 'terminal', unknown: [] });
    expect(readFenceInfo('sh host')).toEqual({ commands: true, place: 'host', unknown: [] });
    expect(readFenceInfo('bash second shell')).toEqual({ commands: true, place: 'terminal', unknown: ['second', 'shell'] });
    expect(readFenceInfo('bash host second-shell')).toEqual({ commands: true, place: 'host', unknown: ['second-shell'] });
    expect(readFenceInfo('bash server')).toEqual({ commands: true, place: 'terminal', machine: 'server', unknown: [] });
    expect(readFenceInfo('bash second-shell node-1')).toEqual({ commands: true, place: 'second-shell', machine: 'node-1', unknown: [] });
    expect(readFenceInfo('bash server node-0')).toEqual({ commands: true, place: 'terminal', machine: 'server', unknown: ['node-0'] });
    expect(readFenceInfo('bash host server')).toEqual({ commands: true, place: 'host', unknown: ['server'] });
    expect(readFenceInfo('')).toEqual({ commands: false, place: 'terminal', unknown: [] });
    expect(readFenceInfo('yaml')).toEqual({ commands: false, place: 'terminal', unknown: [] });
  });

  it("the course's only block for the learner's own computer is chapter 21's lab down, and every step has commands to type", () => {
    const course = loadCourse();
    const host = course.flatMap((c) => c.steps.flatMap((s) => commandBlocks(s.prose).filter((b) => b.place === 'host').map((b) => `${c.number}/${s.id}: ${b.code.trim()}`)));
    expect(host).toEqual([expect.stringMatching(/^21\/.*lab down/)]);
    const empty = course.flatMap((c) => c.steps.filter((s) => !commandBlocks(s.prose).some((b) => b.place !== 'host')).map((s) => `${c.number}/${s.id}`));
    expect(empty).toEqual([]);
  });
});

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCourse, splitSections } from '../../../src/engine/course.ts';
import { LabFilesError } from '../../../src/engine/lab-files.ts';

function fixture(chapters: Record<string, string>, content: Record<string, string>): { labs: string; content: string } {
  const root = mkdtempSync(join(tmpdir(), 'hardway-course-'));
  const labs = join(root, 'labs');
  const prose = join(root, 'content');
  mkdirSync(prose, { recursive: true });
  for (const [folder, yaml] of Object.entries(chapters)) {
    mkdirSync(join(labs, folder), { recursive: true });
    writeFileSync(join(labs, folder, 'chapter.yaml'), yaml);
  }
  for (const [file, text] of Object.entries(content)) writeFileSync(join(prose, file), text);
  return { labs, content: prose };
}

function errorsOf(dirs: { labs: string; content: string }): string[] {
  try {
    loadCourse(dirs.labs, dirs.content);
  } catch (error) {
    if (error instanceof LabFilesError) return error.errors.map((e) => `${e.file.split('/').slice(-2).join('/')}:${e.line}: ${e.message}`);
    throw error;
  }
  return [];
}

const goodStep = `  - id: one
    title: One
    machine: jumpbox
    checks:
      - run: "true"
        fail: never
    solve: "true"
    hints: [a hint, another hint]
`;

describe('chapter manifests', () => {
  it('loads a valid chapter and gives each step its part of the document', () => {
    const dirs = fixture({ '01-intro': `title: Intro\nprose: intro.md\nsteps:\n${goodStep}` }, { 'intro.md': '# Intro\n\nWelcome.\n\n<!-- step: one -->\n## One\n\nDo it.\n' });
    const [chapter] = loadCourse(dirs.labs, dirs.content);
    expect(chapter!.number).toBe(1);
    expect(chapter!.steps[0]!.prose).toBe('## One\n\nDo it.');
  });

  it('a code block that names a place the course does not know is reported with file:line', () => {
    const prose = '# Intro\n\n<!-- step: one -->\n## One\n\n```bash second-shell\nkubectl get pods -w\n```\n\n```bash on-the-moon\ntrue\n```\n';
    const dirs = fixture({ '01-intro': `title: Intro\nprose: intro.md\nsteps:\n${goodStep}` }, { 'intro.md': prose });
    expect(errorsOf(dirs)).toEqual([expect.stringMatching(/^content\/intro\.md:10: a code block says "on-the-moon": after bash, only a machine .*, "second-shell" .* or "host" .* is known$/)]);
  });

  it('reports every problem of every file at once, each with file:line', () => {
    const broken = [
      'title: Broken',
      'prose: broken.md',
      'steps:',
      '  - id: first',
      '    title: First',
      '    machine: laptop',
      '    checks:',
      '      - run: "true"',
      '    solve: "true"',
      '    hints: [h]',
      '    colour: blue',
    ].join('\n');
    const dirs = fixture(
      { '01-broken': broken, '02-bad-yaml': 'title: [unclosed\n', '03-noprose': `title: X\nprose: missing.md\nsteps:\n${goodStep}` },
      { 'broken.md': '<!-- step: first -->\n' },
    );
    const errors = errorsOf(dirs);
    expect(errors).toEqual(
      expect.arrayContaining([
        '01-broken/chapter.yaml:6: steps.0.machine must be one of: jumpbox, server, node-0, node-1',
        '01-broken/chapter.yaml:8: steps.0.checks.0 is missing "fail"',
        '01-broken/chapter.yaml:11: steps.0 has an unknown field "colour"',
        expect.stringMatching(/^02-bad-yaml\/chapter\.yaml:\d+: YAML: /),
        expect.stringMatching(/^03-noprose\/chapter\.yaml:2: prose file missing\.md does not exist/),
      ]),
    );
  });

  it('names a step whose prose section is missing, and duplicate step ids', () => {
    const twice = `title: T\nprose: t.md\nsteps:\n${goodStep}${goodStep}`;
    const errors = errorsOf(fixture({ '01-t': twice }, { 't.md': 'no markers here\n' }));
    expect(errors).toContain('01-t/chapter.yaml:4: t.md has no "<!-- step: one -->" section for this step');
    expect(errors).toContain('01-t/chapter.yaml:12: step id "one" is used twice');
  });

  it('the real course loads', () => {
    expect(loadCourse().length).toBeGreaterThan(0);
  });

  it('splits a document at step markers', () => {
    const sections = splitSections('intro\n<!-- step: a -->\nA text\n<!--step:b-->\nB text\n');
    expect([...sections]).toEqual([
      ['a', 'A text'],
      ['b', 'B text'],
    ]);
  });
});

describe('fault files', () => {
  it('the real faults and health checks load', async () => {
    const { loadFaults, loadHealth } = await import('../../../src/engine/faults.ts');
    expect(loadFaults().length).toBeGreaterThanOrEqual(15);
    expect(loadHealth().health.length).toBeGreaterThan(5);
  });

  it('a malformed fault is reported with file:line, every problem at once', async () => {
    const { loadFaults } = await import('../../../src/engine/faults.ts');
    const dir = mkdtempSync(join(tmpdir(), 'hardway-faults-'));
    writeFileSync(join(dir, 'bad.yaml'), ['title: Bad', 'component: etcd', 'difficulty: 5', 'symptom: s', 'inject:', '  - machine: laptop', '    run: "true"', 'signatures: []', 'hints: [one, two]', 'solve: [{machine: server, run: "true"}]', 'fixed: [{machine: server, run: "true"}]', ''].join('\n'));
    let messages: string[] = [];
    try {
      loadFaults(dir);
    } catch (error) {
      if (error instanceof LabFilesError) messages = error.errors.map((e) => `${e.file.split('/').pop()}:${e.line}: ${e.message}`);
    }
    expect(messages).toEqual(
      expect.arrayContaining([
        'bad.yaml:3: difficulty must be one of: 1, 2, 3',
        'bad.yaml:6: inject.0.machine must be one of: jumpbox, server, node-0, node-1',
        'bad.yaml:8: signatures must NOT have fewer than 1 items',
        'bad.yaml:11: fixed.0 is missing "fail"',
      ]),
    );
  });
});

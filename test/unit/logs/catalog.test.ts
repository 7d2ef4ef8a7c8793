import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anatomyOf } from '../../../src/logs/anatomy.ts';
import { coverage, loadCatalog, normalise } from '../../../src/logs/catalog.ts';
import { LabFilesError } from '../../../src/engine/lab-files.ts';
import { loadFaults } from '../../../src/engine/faults.ts';

const catalogIn = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), 'hardway-catalog-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
};

describe('the log catalog', () => {
  it('loads the course\'s catalog, and every entry names its component', () => {
    const catalog = loadCatalog();
    expect(catalog.messages.length).toBeGreaterThan(10);
    expect(catalog.messages.every((m) => m.component && m.means)).toBe(true);
  });

  it('explains a raw journal line whose klog values keep their escaped quotes, as pasted from journalctl', () => {
    const line = String.raw`Dec 01 19:03:11 node-0 kube-proxy[312]: E1201 19:03:11.123456     312 reflector.go:200] "Failed to watch" err="failed to list *v1.Service: services is forbidden: User \"system:kube-proxy\" cannot list resource \"services\" in API group \"\" at the cluster scope" logger="UnhandledError"`;
    expect(line).toContain('\\"system:kube-proxy\\"');
    expect(loadCatalog().lookup({ message: line, raw: line })?.component).toBe('kube-proxy');
  });

  it('explains every fault\'s log signature, and none of them as expected noise', () => {
    const catalog = loadCatalog();
    const unexplained = loadFaults().flatMap((fault) =>
      fault.signatures.filter((s) => catalog.lookup({ component: s.component, message: s.contains, raw: s.contains })?.expected !== false).map((s) => `${fault.id}: ${s.component} "${s.contains}"`),
    );
    expect(unexplained).toEqual([]);
  });

  it('explains a line that carries noise and an error by the error', () => {
    const line = 'cleanup warnings time="2026-12-01T07:22:25Z" level=info msg="starting signal loop" level=error msg="fork/exec /usr/local/bin/runc: no such file or directory"';
    const known = loadCatalog().lookup({ component: 'containerd', message: line, raw: line });
    expect(known?.expected).toBe(false);
    expect(known?.means).toMatch(/runtime binary/);
  });

  it('finds a line by its component and text, or by text alone', () => {
    const dir = catalogIn({ 'kubelet.yaml': 'component: kubelet\nmessages:\n  - contains: Failed to set rlimit\n    means: it could not raise a limit\n    expected: true\n    why: no CAP_SYS_RESOURCE\n  - pattern: "oom score .* permission denied"\n    means: oom\n    expected: false\n' });
    const catalog = loadCatalog(dir);
    expect(catalog.lookup({ component: 'kubelet', message: 'x Failed to set rlimit y', raw: '' })?.means).toBe('it could not raise a limit');
    expect(catalog.lookup({ component: 'etcd', message: 'Failed to set rlimit', raw: '' })).toBeNull();
    expect(catalog.lookup({ message: 'write oom score 5: permission denied', raw: '' })?.component).toBe('kubelet');
  });

  it('reports every problem with file:line: a bad regular expression, a missing reason, an unknown field', () => {
    const dir = catalogIn({
      'a.yaml': 'component: etcd\nmessages:\n  - pattern: "(unclosed"\n    means: m\n    expected: false\n  - contains: some text\n    means: m\n    expected: true\n',
      'b.yaml': 'component: etcd\nmessages:\n  - contains: some text\n    means: m\n    expected: false\n    colour: red\n',
    });
    const error = (() => { try { loadCatalog(dir); } catch (e) { return e as LabFilesError; } })();
    expect(error).toBeInstanceOf(LabFilesError);
    const text = error!.errors.map((e) => `${e.file.split('/').pop()}:${e.line}: ${e.message}`);
    expect(text).toEqual(expect.arrayContaining([expect.stringMatching(/^a\.yaml:3: not a regular expression/), expect.stringMatching(/^a\.yaml:8: an expected message needs "why"/), expect.stringMatching(/^b\.yaml:6: .*unknown field "colour"/)]));
  });

  it('measures coverage over distinct warnings and errors, counting repeats once and ignoring info lines', () => {
    const at = (component: string, severity: 'info' | 'warn' | 'error', message: string) => ({ time: 0, machine: 'node-0', component, severity, message, raw: message });
    const result = coverage(loadCatalog(), [
      at('kubelet', 'error', '"Failed to set rlimit on max file handles" err="operation not permitted"'),
      at('kubelet', 'error', '"Failed to set rlimit on max file handles" err="operation not permitted"'),
      at('kubelet', 'warn', 'something nobody has seen before at 10.0.0.1'),
      at('kubelet', 'warn', 'something nobody has seen before at 10.0.0.2'),
      at('kubelet', 'info', 'an info line'),
    ]);
    expect(result).toEqual({ distinct: 2, explained: 1, unexplained: ['kubelet: something nobody has seen before at 10.0.0.1'] });
  });

  it('normalises away what makes one occurrence differ from the next', () => {
    expect(normalise('pod nginx-7d4b9c8f5d-x2x9q at 10.200.0.5:80 took 12ms (uid 3f2a1b4c-1111-2222-3333-444455556666)')).toBe(normalise('pod nginx-5c6d7e8f9a-abcde at 10.200.1.9:8080 took 7ms (uid 9f2a1b4c-1111-2222-3333-444455556677)'));
  });
});

describe('the anatomy of a log line', () => {
  it('names klog\'s fields: severity letter, date, time, thread, file:line, message, key=value', () => {
    const anatomy = anatomyOf('E1123 06:58:12.702051     440 run.go:72] "command failed" err="failed to run Kubelet: \\"x\\"" node="node-0"');
    expect(anatomy.format).toBe('klog');
    const byName = Object.fromEntries(anatomy.fields.map((f) => [f.name, f.value]));
    expect(byName).toMatchObject({ severity: 'E', date: '1123', time: '06:58:12.702051', pid: '440', source: 'run.go:72', message: '"command failed"', err: '"failed to run Kubelet: "x""', node: '"node-0"' });
    expect(anatomy.fields[0]!.means).toMatch(/Error/);
  });

  it('names etcd\'s JSON, containerd\'s logrus and CoreDNS\'s fields, and says when it does not know a format', () => {
    expect(anatomyOf('{"level":"warn","ts":"2026-11-23T07:30:53Z","caller":"etcdserver/util.go:170","msg":"apply request took too long"}').fields.map((f) => f.name)).toEqual(['level', 'ts', 'caller', 'msg']);
    const logrus = anatomyOf('time="2026-11-23T07:31:02.745Z" level=warning msg="failed to load plugin" error="devmapper not configured"');
    expect(logrus.format).toMatch(/logrus/);
    expect(logrus.fields.find((f) => f.name === 'error')?.value).toBe('devmapper not configured');
    expect(anatomyOf('[ERROR] plugin/errors: 2 example.com. A: read udp: i/o timeout').fields.map((f) => f.name)).toEqual(['level', 'plugin', 'message']);
    expect(anatomyOf('Nov 23 07:30:56 node-0 kubelet[440]: I1123 07:30:56.1 440 x.go:1] hello').format).toBe('klog');
    expect(anatomyOf('just some words').format).toBe('unknown');
  });
});

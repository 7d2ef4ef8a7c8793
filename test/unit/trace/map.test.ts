import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadHealth } from '../../../src/engine/faults.ts';
import { expandLayout, loadMapLayout } from '../../../src/map/layout.ts';
import { mapScript, parseMapOutput, recentWriters } from '../../../src/map/status.ts';

describe('the cluster map', () => {
  const health = loadHealth();
  const layout = loadMapLayout([...new Set(health.health.map((h) => h.component))]);

  it('draws each labs/health.yaml component somewhere, each with a probe, and joins links on the same machine', () => {
    const { boxes, links } = expandLayout(layout);
    for (const component of new Set(health.health.map((h) => h.component))) expect(boxes.some((b) => b.health === component && b.probe), component).toBe(true);
    expect(boxes.find((b) => b.id === 'kube-proxy@node-1')!.probe).toContain('http://node-1:10256/healthz');
    expect(links).toContainEqual(expect.objectContaining({ from: 'kubelet@node-0', to: 'containerd@node-0' }));
    expect(links).not.toContainEqual(expect.objectContaining({ from: 'kubelet@node-0', to: 'containerd@node-1' }));
    expect(links).toContainEqual(expect.objectContaining({ from: 'kubelet@node-1', to: 'kube-apiserver@server' }));
  });

  it('refuses a component whose health check labs/health.yaml lacks', () => {
    expect(() => loadMapLayout(['etcd'])).toThrow(/labs\/health.yaml has no check of component "kube-apiserver"/);
  });

  it('runs every probe in one script with the prelude\'s variables and functions, and reads their exit codes back', () => {
    const audit = fileURLToPath(new URL('../../fixtures/trace/audit.log', import.meta.url));
    const script = mapScript('greet() { echo "hi $1"; }\nfile=$d/x; echo 1 > $file', ["greet 'there' | grep -q 'hi there'", 'test -s $file', 'exit 4', 'test -s $file']);
    expect(script.match(/test -s \$file/g)).toHaveLength(1);
    const out = execFileSync('bash', ['-c', script.replace('/var/log/audit.log', audit)], { encoding: 'utf8' });
    const parsed = parseMapOutput(out);
    expect([...parsed.codes]).toEqual([[0, 0], [1, 0], [2, 4], [3, 0]]);
    // Who and when from the recorded audit log's newest lines, as sed cuts them.
    expect(parsed.audit).toHaveLength(Math.min(100, readFileSync(audit, 'utf8').trim().split('\n').length));
    expect(parsed.audit!.at(-1)).toEqual(['2026-12-01T08:36:09.740840Z', 'system:node:node-0', 'kubelet/v1.35.8 (linux/amd64) kubernetes/$Format']);
    expect(parseMapOutput('').audit).toBeNull();
  });

  it('names who is still writing', () => {
    const rows: [string, string, string][] = [
      ['2026-12-01T07:00:00.000Z', 'system:node:node-0', 'kubelet/v1.35.8'],
      ['2026-12-01T07:00:10.000Z', 'system:node:node-0', 'kubelet/v1.35.8'],
      ['2026-12-01T07:00:11.000Z', 'system:serviceaccount:kube-system:replicaset-controller', 'kube-controller-manager/v1.35.8'],
      ['2026-12-01T06:50:00.000Z', 'admin', 'kubectl/v1.35.8'],
    ];
    expect(recentWriters(rows, Date.parse('2026-12-01T06:59:50Z'))).toEqual([{ actor: 'kubelet node-0', writes: 2 }, { actor: 'replicaset-controller', writes: 1 }]);
  });
});

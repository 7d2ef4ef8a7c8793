import { describe, expect, it } from 'vitest';
import { loadHealth } from '../../../src/engine/faults.ts';
import { expandLayout, loadMapLayout } from '../../../src/map/layout.ts';
import { machineScript, parseMachineOutput, recentWriters } from '../../../src/map/status.ts';

describe('the cluster map', () => {
  const health = loadHealth();
  const layout = loadMapLayout([...new Set(health.health.map((h) => h.component))]);

  it('draws each labs/health.yaml component somewhere, and joins links on the same machine', () => {
    const { boxes, links } = expandLayout(layout);
    for (const component of new Set(health.health.map((h) => h.component))) expect(boxes.some((b) => b.health === component), component).toBe(true);
    expect(links).toContainEqual(expect.objectContaining({ from: 'kubelet@node-0', to: 'containerd@node-0' }));
    expect(links).not.toContainEqual(expect.objectContaining({ from: 'kubelet@node-0', to: 'containerd@node-1' }));
    expect(links).toContainEqual(expect.objectContaining({ from: 'kubelet@node-1', to: 'kube-apiserver@server' }));
  });

  it('refuses a link to a component it does not have', () => {
    expect(() => loadMapLayout(['etcd'])).toThrow(/labs\/health.yaml has no check of component "kube-apiserver"/);
  });

  it('runs a machine\'s checks in one script and reads their exit codes back', () => {
    const script = machineScript([{ run: "echo 'quoted' && exit 3" }, { run: 'true' }], true);
    expect(script).toContain("bash -c 'echo '\\''quoted'\\'' && exit 3'");
    const parsed = parseMachineOutput('hardway-map 0 3\nhardway-map 1 0\nhardway-map audit\n["2026-12-01T06:57:19.571Z","system:kube-scheduler",""]\n{torn\n');
    expect([...parsed.codes]).toEqual([[0, 3], [1, 0]]);
    expect(parsed.audit).toHaveLength(1);
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

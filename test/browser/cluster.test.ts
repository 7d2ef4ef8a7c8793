import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabEngine } from '../../src/engine/lab.ts';
import { startServer, type RunningServer } from '../../src/web/server.ts';
import { ensureUiBuilt } from '../../src/web/ui-build.ts';
import { ensureArtifacts } from '../helpers/artifacts.ts';
import { launchChromium } from '../helpers/browser.ts';
import { ensureEngine, realLab, upToCluster } from '../helpers/engine.ts';

const LAB = `it-cluster-${process.pid.toString(36)}`;
const ARTIFACTS = 'test-results';
const KUBECTL = 'kubectl --kubeconfig /root/admin.kubeconfig';

/**
 * The Cluster view on a real, whole cluster: the live map goes red when the scheduler stops and green
 * when it is back, and a deployment's story opens as a swimlane from the cluster's own list.
 */
describe('the cluster map and the swimlane', () => {
  let engine: LabEngine;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  const onServer = async (script: string): Promise<void> => {
    const result = await engine.provider.exec(LAB, 'server', ['bash', '-c', script], { timeoutMs: 180_000, workdir: '/root' });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
  };
  const box = (id: string) => page.locator(`cluster-map g[data-box="${id}"]`);

  beforeAll(async () => {
    process.env.HARDWAY_STATE = `/tmp/hardway-cluster-state-${process.pid}`;
    await ensureEngine();
    await ensureArtifacts();
    engine = realLab(LAB);
    await upToCluster(engine);
    await onServer(`${KUBECTL} create deployment mapped --image=nginx:latest --replicas=2 && ${KUBECTL} rollout status deployment/mapped --timeout=150s`);
    server = await startServer({ engine, host: '127.0.0.1', port: 0, uiDir: await ensureUiBuilt() });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 1_200_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await engine?.down();
  }, 120_000);

  it('shows a healthy, settled cluster; the scheduler\'s box turns red within 10 s of stopping it, and green once it is back', { timeout: 300_000 }, async () => {
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Cluster' }).click();
    await expect.poll(() => box('kube-scheduler@server').count(), { timeout: 30_000 }).toBe(1);
    const states = () => page.locator('cluster-map g[data-box]').evaluateAll((gs) => gs.map((g) => `${g.getAttribute('data-box')}=${g.getAttribute('data-state')}`));
    // Every box with a check is green; kubectl and the registry have none.
    await expect.poll(async () => (await states()).filter((s) => !/=ok$/.test(s)), { timeout: 60_000, interval: 1000 }).toEqual(['kubectl@jumpbox=unknown', 'docker-registry@jumpbox=unknown']);
    await expect.poll(() => page.locator('cluster-map [role="status"]').getAttribute('data-settled'), { timeout: 90_000, interval: 1000 }).toBe('true');
    await page.screenshot({ path: `${ARTIFACTS}/cluster-1-settled.png` });

    await onServer('systemctl stop kube-scheduler');
    const stopped = Date.now();
    await expect.poll(() => box('kube-scheduler@server').getAttribute('data-state'), { timeout: 10_000, interval: 250 }).toBe('failing');
    const red = Date.now() - stopped;
    expect(red).toBeLessThan(10_000);
    expect(await page.locator('cluster-map [role="status"]').innerText()).toMatch(/Not healthy: scheduler/);
    expect(await box('kube-apiserver@server').getAttribute('data-state')).toBe('ok');
    await box('kube-scheduler@server').click();
    expect(await page.locator('cluster-map .detail').innerText()).toMatch(/scheduler is not running/);
    await page.screenshot({ path: `${ARTIFACTS}/cluster-2-scheduler-stopped.png` });

    await onServer('systemctl start kube-scheduler');
    // The new scheduler takes the lease once the old holder's lapses.
    await expect.poll(() => box('kube-scheduler@server').getAttribute('data-state'), { timeout: 90_000, interval: 1000 }).toBe('ok');
  });

  it('opens a deployment\'s swimlane from the cluster\'s list; a click on an arrow shows its raw audit event', { timeout: 120_000 }, async () => {
    const panel = page.locator('trace-panel');
    await panel.locator('select[aria-label="resource"]').focus();
    await expect.poll(() => panel.locator('option', { hasText: 'deployment/mapped' }).count(), { timeout: 20_000 }).toBe(1);
    await panel.locator('select[aria-label="resource"]').selectOption({ label: 'deployment/mapped (default)' });
    const lane = panel.locator('trace-swimlane');
    await expect.poll(() => lane.locator('g.entry').count(), { timeout: 60_000 }).toBeGreaterThan(5);
    const lanes = await lane.locator('g[data-lane]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-lane')));
    expect(lanes.slice(0, 2)).toEqual(['kubectl (admin)', 'kube-apiserver']);
    expect(lanes).toEqual(expect.arrayContaining(['deployment-controller', 'replicaset-controller', 'kube-scheduler']));
    expect(await lane.locator('g.entry[data-source="audit"][data-actor="kube-scheduler"][data-verb="bind"]').count()).toBe(2);
    const create = lane.locator('g.entry[data-source="audit"][data-actor="kubectl (admin)"][data-verb="create"]').first();
    await create.click();
    const raw = panel.locator('pre[aria-label="raw record"]');
    const event = JSON.parse(await raw.innerText()) as { auditID: string; verb: string; objectRef: { resource: string; name: string } };
    expect(event).toMatchObject({ verb: 'create', objectRef: { resource: 'deployments', name: 'mapped' } });
    expect(event.auditID).toMatch(/^[0-9a-f-]{36}$/);
    await page.screenshot({ path: `${ARTIFACTS}/cluster-3-swimlane.png`, fullPage: true });
  });
});

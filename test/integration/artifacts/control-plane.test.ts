import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findComponent } from '../../../src/artifacts/manifest.ts';
import { binary, ensureArtifacts } from '../../helpers/artifacts.ts';
import { makeCa, makeCert, writeKubeconfig } from '../../helpers/pki.ts';
import { freePort, startProcess, stopProcess, waitFor, type Started } from '../../helpers/processes.ts';

const run = promisify(execFile);

describe('the cached binaries run a real control plane on loopback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hardway-cp-'));
  let etcd: Started | undefined;
  let apiserver: Started | undefined;
  let controllerManager: Started | undefined;
  let scheduler: Started | undefined;
  let server = '';
  let admin = '';

  const kubectl = async (...args: string[]) => (await run(binary('kubectl'), ['--kubeconfig', admin, ...args], { timeout: 30_000 })).stdout;

  beforeAll(async () => {
    await ensureArtifacts();
    makeCa(dir);
    makeCert(dir, 'apiserver', '/CN=kube-apiserver', ['IP:127.0.0.1', 'DNS:localhost']);
    makeCert(dir, 'admin', '/CN=admin/O=system:masters');
    makeCert(dir, 'controller-manager', '/CN=system:kube-controller-manager');
    makeCert(dir, 'scheduler', '/CN=system:kube-scheduler');

    const [clientPort, peerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    etcd = startProcess(binary('etcd'), [
      '--name=test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=test=http://127.0.0.1:${peerPort}`,
    ]);
    server = `https://127.0.0.1:${apiPort}`;
    apiserver = startProcess(binary('kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${clientPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.32.0.0/24',
      '--authorization-mode=Node,RBAC',
    ]);
    admin = writeKubeconfig(dir, 'admin', server);
    await waitFor(async () => (await kubectl('get', '--raw=/readyz')).trim() === 'ok', 120_000, () => `apiserver not ready:\n${apiserver!.output().slice(-3000)}\netcd:\n${etcd!.output().slice(-1500)}`);
  });

  afterAll(async () => {
    await Promise.all([stopProcess(scheduler), stopProcess(controllerManager)]);
    await stopProcess(apiserver);
    await stopProcess(etcd);
  });

  it('kubectl gets ok from /readyz, lists namespaces, and reads back a ConfigMap', async () => {
    expect((await kubectl('get', '--raw=/readyz')).trim()).toBe('ok');
    const namespaces = await kubectl('get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}');
    expect(namespaces.split(' ')).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));
    await kubectl('create', 'configmap', 'greeting', '--from-literal=hello=hard way');
    expect(await kubectl('get', 'configmap', 'greeting', '-o', 'jsonpath={.data.hello}')).toBe('hard way');
    const version = JSON.parse(await kubectl('version', '-o', 'json')) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
    // The course's version: the first of the two the manifest pins.
    expect(version.serverVersion.gitVersion).toBe(findComponent('kube-apiserver')!.version);
    expect(version.clientVersion.gitVersion).toBe(findComponent('kubectl')!.version);
    expect(findComponent('kubectl')!.version).toBe('v1.34.4');
  });

  it('the controller manager and scheduler run against it and take their leases', async () => {
    controllerManager = startProcess(binary('kube-controller-manager'), [
      `--kubeconfig=${writeKubeconfig(dir, 'controller-manager', server)}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=true',
      `--service-account-private-key-file=${join(dir, 'sa.key')}`,
      `--root-ca-file=${join(dir, 'ca.crt')}`,
      `--cluster-signing-cert-file=${join(dir, 'ca.crt')}`,
      `--cluster-signing-key-file=${join(dir, 'ca.key')}`,
      '--use-service-account-credentials=true',
      '--service-cluster-ip-range=10.32.0.0/24',
    ]);
    scheduler = startProcess(binary('kube-scheduler'), [
      `--kubeconfig=${writeKubeconfig(dir, 'scheduler', server)}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=true',
    ]);
    for (const [lease, process] of [['kube-controller-manager', controllerManager], ['kube-scheduler', scheduler]] as const) {
      const holder = await waitFor(
        async () => (await kubectl('get', 'lease', lease, '-n', 'kube-system', '-o', 'jsonpath={.spec.holderIdentity}')).trim(),
        120_000,
        () => `${lease} took no lease:\n${process.output().slice(-3000)}`,
      );
      expect(holder).toMatch(/_/);
    }
  });
});

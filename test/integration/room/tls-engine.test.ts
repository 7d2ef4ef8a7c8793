import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRoomEngine, parseEngineSpec } from '../../../src/room/docker-engines.ts';
import { GiB } from '../../helpers/fake-room.ts';
import { freePort } from '../../helpers/processes.ts';
import { startSecondEngine, type SecondEngine } from '../../helpers/second-engine.ts';

/**
 * A room engine over tcp:// with TLS client certificates, as an instructor gives a remote server:
 * a second dockerd of this host listening on 127.0.0.1 with --tlsverify, certificates made here
 * with openssl the way Docker's "Protect the Docker daemon socket" guide makes them.
 */
const LIMITS = { memoryBytes: GiB, pids: 2048, diskBytes: 0 };

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA, and a certificate it signs (server: for 127.0.0.1; client: for clientAuth), in Docker's file names. */
function makeCa(dir: string): void {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=hardway test CA'], dir);
}
function signed(caDir: string, dir: string, kind: 'server' | 'client'): void {
  mkdirSync(dir, { recursive: true });
  const ext = kind === 'server' ? 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n';
  writeFileSync(join(dir, 'ext.cnf'), ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'req.csr', '-subj', `/CN=${kind}`], dir);
  openssl(['x509', '-req', '-in', 'req.csr', '-CA', join(caDir, 'ca.pem'), '-CAkey', join(caDir, 'ca-key.pem'), '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'ext.cnf'], dir);
  execFileSync('cp', [join(caDir, 'ca.pem'), join(dir, 'ca.pem')]);
}

describe('a room engine over tcp:// with TLS client certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hardway-tls-engine-'));
  let engine: SecondEngine;
  let port: number;

  beforeAll(async () => {
    makeCa(join(dir, 'ca'));
    signed(join(dir, 'ca'), join(dir, 'server'), 'server');
    signed(join(dir, 'ca'), join(dir, 'client'), 'client');
    // A client whose certificate another CA signed: it trusts the server, the server does not trust it.
    makeCa(join(dir, 'other-ca'));
    signed(join(dir, 'other-ca'), join(dir, 'stranger'), 'client');
    execFileSync('cp', [join(dir, 'ca', 'ca.pem'), join(dir, 'stranger', 'ca.pem')]);
    port = await freePort();
    const server = join(dir, 'server');
    engine = await startSecondEngine({
      subnetPrefix: '10.243',
      addressPool: '10.249.0.0/16',
      bridgeAddress: '10.253.0.1/24',
      tls: { port, ca: join(server, 'ca.pem'), cert: join(server, 'cert.pem'), key: join(server, 'key.pem') },
    });
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('is probed and used over TLS with the client certificate the instructor gives', async () => {
    const room = new DockerRoomEngine(0, parseEngineSpec(`tcp://127.0.0.1:${port}?tlsdir=${join(dir, 'client')}&subnet=10.243`), LIMITS);
    const facts = await room.probe();
    expect(facts, JSON.stringify(facts)).toMatchObject({ reachable: true });
    if (!facts.reachable) return;
    expect(facts.apiVersion).toMatch(/^1\.\d+$/);
    expect(facts.memoryBytes).toBeGreaterThan(GiB);
    // The provider the room places labs with goes over the same TLS connection.
    const network = await room.provider.createNetwork('tls-probe');
    expect(network.subnet).toMatch(/^10\.243\./);
    await room.provider.deleteLab('tls-probe');
    await room.close();
  });

  it('refuses a client certificate its CA did not sign, and a client with none', async () => {
    const stranger = await new DockerRoomEngine(1, parseEngineSpec(`tcp://127.0.0.1:${port}?tlsdir=${join(dir, 'stranger')}`), LIMITS).probe();
    expect(stranger.reachable).toBe(false);
    // Without a certificate of its own a client gets no further than the TLS handshake.
    const anonymous = await fetch(`https://127.0.0.1:${port}/version`).then(
      (response) => `HTTP ${response.status}`,
      (error: unknown) => `refused: ${String((error as { cause?: unknown }).cause ?? error)}`,
    );
    expect(anonymous).toMatch(/^refused/);
  });

  it('does not answer plain HTTP, and a tcp:// engine without a tlsdir is refused before any connection', async () => {
    const plain = await fetch(`http://127.0.0.1:${port}/version`).then((response) => response.status, () => 0);
    expect(plain).not.toBe(200);
    expect(() => parseEngineSpec(`tcp://127.0.0.1:${port}`)).toThrow(/no tlsdir/);
  });
});

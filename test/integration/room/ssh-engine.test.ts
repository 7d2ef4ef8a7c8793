import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRoomEngine, parseEngineSpec } from '../../../src/room/docker-engines.ts';
import { CHANNELS_PER_CONNECTION } from '../../../src/room/ssh-dialer.ts';
import { DEFAULT_SOCKET } from '../../../vm/engine.ts';
import { containerName, LAB_LABEL, MACHINE_LABEL } from '../../../vm/docker-provider.ts';
import { ensureBusyboxImage } from '../../../vm/pod-images.ts';
import { ensureEngine } from '../../helpers/engine.ts';

/**
 * An ssh:// engine of a room, against an SSH server that does what sshd and `docker system
 * dial-stdio` do on an engine's host (each exec'd dial-stdio is a stream to the engine's socket):
 * every request of the engine shares its SSH connections instead of logging in again.
 */
const LAB = `sshit-${process.pid.toString(36)}`;

describe('a room engine over ssh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hardway-ssh-'));
  let server: Server;
  let port: number;
  let logins = 0;
  let engine: DockerRoomEngine;

  beforeAll(async () => {
    await ensureEngine();
    const hostKey = utils.generateKeyPairSync('ed25519');
    const userKey = utils.generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'id'), userKey.private, { mode: 0o600 });
    const allowed = utils.parseKey(userKey.public);
    if (allowed instanceof Error) throw allowed;
    server = new Server({ hostKeys: [hostKey.private] }, (client) => {
      client.on('authentication', (ctx) => {
        if (ctx.method === 'publickey' && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH())) {
          if (ctx.signature && !allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.reject();
          return ctx.accept();
        }
        ctx.reject(['publickey']);
      });
      client.on('ready', () => {
        logins += 1;
        client.on('session', (accept) => {
          accept().on('exec', (acceptExec, reject, info) => {
            if (info.command !== 'docker system dial-stdio') return reject();
            const channel = acceptExec();
            const socket = connect(DEFAULT_SOCKET);
            channel.pipe(socket).pipe(channel);
            socket.on('error', () => channel.close());
            channel.on('close', () => socket.destroy());
          });
        });
      });
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    engine = new DockerRoomEngine(1, parseEngineSpec(`ssh://root@127.0.0.1:${port}?key=${join(dir, 'id')}`), {});
  });

  afterAll(async () => {
    await engine?.provider.deleteLab(LAB).catch(() => undefined);
    await engine?.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers its probe, and many requests, some at once, over one login', async () => {
    const facts = await engine.probe();
    expect(facts.reachable, facts.detail).toBe(true);
    expect(facts.memoryBytes).toBeGreaterThan(0);
    for (let round = 0; round < 5; round++) {
      await Promise.all([...Array(CHANNELS_PER_CONNECTION).keys()].map(() => engine.provider.list()));
    }
    expect(logins).toBe(1);
    expect(engine.dialer!.opened).toBe(1);
  });

  it('runs a command in a machine through a hijacked exec stream on the shared connection', async () => {
    const image = await ensureBusyboxImage(engine.provider.docker, 'hardway/busybox:ssh-it');
    const container = await engine.provider.docker.createContainer({ name: containerName(LAB, 'm'), Image: image, Cmd: ['sleep', '120'], Labels: { [LAB_LABEL]: LAB, [MACHINE_LABEL]: 'm' } });
    await container.start();
    const results = await Promise.all([1, 2, 3].map((n) => engine.provider.exec(LAB, 'm', ['sh', '-c', `echo hello ${n}`])));
    expect(results.map((r) => r.stdout.trim())).toEqual(['hello 1', 'hello 2', 'hello 3']);
    expect(logins).toBe(1);
  });

  it('opens a second connection only when the first one\'s channels are all in use', async () => {
    await Promise.all([...Array(CHANNELS_PER_CONNECTION * 2).keys()].map(() => engine.provider.list()));
    expect(engine.dialer!.opened).toBeLessThanOrEqual(3);
    expect(logins).toBe(engine.dialer!.opened);
  });
});

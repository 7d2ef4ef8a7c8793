import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, utils, type ParsedKey } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRoomEngine, parseEngineSpec } from '../../../src/room/docker-engines.ts';
import { sha256Fingerprint } from '../../../src/room/known-hosts.ts';
import { CHANNELS_PER_CONNECTION } from '../../../src/room/ssh-dialer.ts';
import { DEFAULT_SOCKET } from '../../../vm/engine.ts';
import { containerName, LAB_LABEL, MACHINE_LABEL } from '../../../vm/docker-provider.ts';
import { ensureBusyboxImage } from '../../../vm/pod-images.ts';
import { ensureEngine } from '../../helpers/engine.ts';

/**
 * An ssh:// engine of a room, against an SSH server that does what sshd and `docker system
 * dial-stdio` do on an engine's host (each exec'd dial-stdio is a stream to the engine's socket):
 * every request of the engine shares its SSH connections instead of logging in again. Its host key
 * is checked as ssh checks it: recorded in known_hosts it connects; a different key recorded for
 * the host, or none, is refused before any login.
 */
const LAB = `sshit-${process.pid.toString(36)}`;

describe('a room engine over ssh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hardway-ssh-'));
  const hostKey = utils.generateKeyPairSync('ed25519');
  const hostFingerprint = sha256Fingerprint(parsed(hostKey.public));
  let server: Server;
  let port: number;
  let allowed: ParsedKey;
  let logins = 0;
  let engine: DockerRoomEngine;
  const others: DockerRoomEngine[] = [];
  let files = 0;

  /** An engine spec for the test's sshd, its host key checked against a known_hosts file of these lines. */
  const specWith = (knownHostsLines: string[], sshPort = port): string => {
    const file = join(dir, `known_hosts-${(files += 1)}`);
    writeFileSync(file, knownHostsLines.map((line) => `${line}\n`).join(''));
    return `ssh://root@127.0.0.1:${sshPort}?key=${join(dir, 'id')}&known_hosts=${file}`;
  };
  const other = (spec: string): DockerRoomEngine => {
    const made = new DockerRoomEngine(2 + others.length, parseEngineSpec(spec), {});
    others.push(made);
    return made;
  };

  beforeAll(async () => {
    await ensureEngine();
    const userKey = utils.generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'id'), userKey.private, { mode: 0o600 });
    allowed = parsed(userKey.public);
    ({ server, port } = await startSshd([hostKey.private], allowed, () => (logins += 1)));
    engine = new DockerRoomEngine(1, parseEngineSpec(specWith([`[127.0.0.1]:${port} ${hostKey.public}`])), {});
  });

  afterAll(async () => {
    await engine?.provider.deleteLab(LAB).catch(() => undefined);
    await engine?.close();
    await Promise.all(others.map((e) => e.close()));
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
  it('refuses a host whose key differs from the one recorded for it, loudly, with the fingerprint it offered', async () => {
    const impostor = utils.generateKeyPairSync('ed25519');
    const before = logins;
    const facts = await other(specWith([`[127.0.0.1]:${port} ${impostor.public}`])).probe();
    expect(facts.reachable).toBe(false);
    expect(facts.detail).toMatch(/^WARNING: the ssh engine \[127\.0\.0\.1\]:\d+ offered ED25519 key /);
    expect(facts.detail).toContain(hostFingerprint);
    expect(facts.detail).toContain('man-in-the-middle');
    expect(logins).toBe(before);
  });

  it('refuses an unknown host, with the fingerprint and how to trust it; a key recorded for another port does not count', async () => {
    const before = logins;
    const facts = await other(specWith([`127.0.0.1 ${hostKey.public}`, `[127.0.0.1]:${port + 1} ${hostKey.public}`])).probe();
    expect(facts.reachable).toBe(false);
    expect(facts.detail).toContain(`not a known host: it offered ED25519 key ${hostFingerprint}`);
    expect(facts.detail).toContain(`ssh-keyscan -p ${port} 127.0.0.1 >> `);
    expect(logins).toBe(before);
  });

  it("without known_hosts= reads ssh's own ~/.ssh/known_hosts: unknown there is refused, recorded there (hashed) connects", async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const spec = `ssh://root@127.0.0.1:${port}?key=${join(dir, 'id')}`;
    const { HOME } = process.env;
    process.env.HOME = home;
    try {
      const refused = await other(spec).probe();
      expect(refused.reachable).toBe(false);
      expect(refused.detail).toContain(`not a known host: it offered ED25519 key ${hostFingerprint}`);
      writeFileSync(join(home, '.ssh', 'known_hosts'), `${hashedName(`[127.0.0.1]:${port}`)} ${hostKey.public}\n`);
      const trusted = await other(spec).probe();
      expect(trusted.reachable, trusted.detail).toBe(true);
    } finally {
      process.env.HOME = HOME;
    }
  });

  it('asks a server with several host keys for the type recorded, as ssh does', async () => {
    const ecdsa = utils.generateKeyPairSync('ecdsa', { bits: 256 });
    const second = await startSshd([utils.generateKeyPairSync('ed25519').private, ecdsa.private], allowed, () => undefined);
    try {
      const facts = await other(specWith([`[127.0.0.1]:${second.port} ${ecdsa.public}`], second.port)).probe();
      expect(facts.reachable, facts.detail).toBe(true);
    } finally {
      second.server.close();
    }
  });
});

function parsed(key: string): ParsedKey {
  const result = utils.parseKey(key);
  if (result instanceof Error) throw result;
  return result;
}

/** The name as `HashKnownHosts yes` records it: |1|salt|HMAC-SHA1(salt, name). */
function hashedName(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/** sshd as it is on an engine's host: logs in the allowed key, and runs `docker system dial-stdio` onto the engine's socket. */
async function startSshd(hostKeys: string[], allowed: ParsedKey, onLogin: () => void): Promise<{ server: Server; port: number }> {
  const server = new Server({ hostKeys }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH())) {
        if (ctx.signature && !allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.reject();
        return ctx.accept();
      }
      ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      onLogin();
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
  return { server, port: (server.address() as AddressInfo).port };
}

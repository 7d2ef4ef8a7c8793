import { Agent } from 'node:http';
import type { Duplex } from 'node:stream';
import { Client, type Algorithms, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { loadHostTrust, type HostTrustSource } from './host-trust.ts';

/**
 * Below OpenSSH's MaxSessions (10): the channels one SSH connection carries at once. Each open
 * HTTP connection to the engine (a kept-alive one, an exec's hijacked stream, a terminal) is one.
 */
export const CHANNELS_PER_CONNECTION = 8;

interface Connection {
  client: Client;
  ready: Promise<void>;
  channels: number;
  dead: boolean;
}

/**
 * Reaches a Docker engine over SSH the way `docker -H ssh://` does (`docker system dial-stdio` on
 * the far side), but over connections kept and shared by every request to that engine: one, and
 * another only when its channels are all in use. (docker-modem's own ssh support opens a new SSH
 * connection, handshake and login included, for every single request.) Like ssh, it refuses a
 * server whose host key the known_hosts files do not record for that host.
 */
export class SshDialer {
  private readonly connections: Connection[] = [];
  private closed = false;
  /** SSH connections made so far (for tests and the board). */
  opened = 0;

  constructor(
    private readonly config: ConnectConfig,
    private readonly trustSource: HostTrustSource,
    private readonly perConnection = CHANNELS_PER_CONNECTION,
  ) {}

  /** An http.Agent whose every socket is a dial-stdio channel on a shared connection. */
  agent(): Agent {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    (agent as unknown as { createConnection: (options: object, done: (error: Error | null, socket?: Duplex) => void) => undefined }).createConnection = (_options, done) => {
      this.dial().then((socket) => done(null, socket), (error: Error) => done(error));
      return undefined;
    };
    return agent;
  }

  async dial(): Promise<Duplex> {
    if (this.closed) throw new Error('the engine\'s ssh connection was closed');
    const connection = this.connections.find((c) => !c.dead && c.channels < this.perConnection) ?? this.open();
    connection.channels += 1;
    try {
      await connection.ready;
      const channel = await new Promise<ClientChannel>((resolve, reject) => {
        connection.client.exec('docker system dial-stdio', (error, stream) => (error ? reject(error) : resolve(stream)));
      });
      channel.once('close', () => (connection.channels -= 1));
      return asSocket(channel);
    } catch (error) {
      connection.channels -= 1;
      throw error;
    }
  }

  private open(): Connection {
    const client = new Client();
    const connection: Connection = { client, channels: 0, dead: false, ready: Promise.resolve() };
    const trust = loadHostTrust(this.trustSource);
    let refusal: Error | null = null;
    const hostVerifier = (offered: Buffer): boolean => {
      refusal = trust.refusal(offered);
      return refusal === null;
    };
    const forget = (): void => {
      connection.dead = true;
      const index = this.connections.indexOf(connection);
      if (index >= 0) this.connections.splice(index, 1);
    };
    connection.ready = new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('error', (error) => {
        forget();
        // ssh2 says only "Host denied (verification failed)": say which key, and what to do.
        reject(refusal ?? error);
      });
    });
    connection.ready.catch(() => undefined);
    client.on('error', forget);
    client.on('close', forget);
    client.connect({ keepaliveInterval: 15_000, keepaliveCountMax: 4, ...this.config, hostVerifier, algorithms: preferring(trust.preferredAlgorithms) });
    this.connections.push(connection);
    this.opened += 1;
    return connection;
  }

  get connectionCount(): number {
    return this.connections.length;
  }

  close(): void {
    this.closed = true;
    for (const connection of this.connections.splice(0)) connection.client.end();
  }
}

/** ssh2's default host key algorithms with these moved to the front: removed first, since ssh2 applies the keys in order and prepend skips those already listed. */
function preferring(hostKeyAlgorithms: ServerHostKeyAlgorithm[]): Algorithms | undefined {
  if (hostKeyAlgorithms.length === 0) return undefined;
  return { serverHostKey: { remove: hostKeyAlgorithms, prepend: hostKeyAlgorithms, append: [] } };
}

/** What Node's HTTP client calls on a socket that an SSH channel does not have. */
function asSocket(channel: ClientChannel): Duplex {
  const socket = channel as ClientChannel & Record<string, unknown>;
  for (const name of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
    if (typeof socket[name] !== 'function') socket[name] = () => socket;
  }
  return socket;
}

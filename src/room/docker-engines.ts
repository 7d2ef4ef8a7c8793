import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { ConnectConfig } from 'ssh2';
import { DockerProvider, type MachineLimits } from '../../vm/docker-provider.ts';
import { LabError } from '../util/errors.ts';
import { withTimeout } from '../util/time.ts';
import type { EngineFacts, RoomEngine } from './engines.ts';
import type { HostTrustSource } from './host-trust.ts';
import { defaultKnownHostsFiles } from './known-hosts.ts';
import { SshDialer } from './ssh-dialer.ts';

/** The newest Docker API this hardway speaks; an older engine is spoken to in its own version. */
export const CLIENT_API_VERSION = '1.41';

export interface EngineSpec {
  /** As the instructor wrote it (the room's name for the engine). */
  spec: string;
  kind: 'unix' | 'tcp' | 'ssh';
  options: Docker.DockerOptions;
  maxLabs: number | null;
  /** The /16 its labs' networks use (engines on one host must differ). */
  subnetPrefix?: string;
  /** For ssh: where to log in (its requests then share connections), and where its host key must be recorded. */
  ssh?: { login: ConnectConfig; hostTrust: HostTrustSource };
}

/**
 * An engine as the instructor names it:
 *   local | unix:///path/to/docker.sock             the local socket (or another one)
 *   tcp://host:2376?tlsdir=DIR                       TLS with DIR/ca.pem, cert.pem, key.pem (Docker's layout)
 *   ssh://user@host[:port]?key=FILE&known_hosts=FILE  docker system dial-stdio over ssh; the host key must be
 *                                                    in known_hosts=FILE, or else in ssh's own known_hosts files
 * each optionally with max=N (labs at most) and subnet=10.241 (the /16 of its lab networks).
 */
export function parseEngineSpec(spec: string): EngineSpec {
  const text = spec === 'local' ? 'unix:///var/run/docker.sock' : spec;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LabError(`"${spec}" is not an engine`, 'give local, unix:///path/docker.sock, tcp://host:2376?tlsdir=DIR or ssh://user@host', 2);
  }
  const max = url.searchParams.get('max');
  const maxLabs = max === null ? null : Number(max);
  if (maxLabs !== null && !(Number.isInteger(maxLabs) && maxLabs >= 0)) throw new LabError(`max=${max} in "${spec}" is not a number of labs`, undefined, 2);
  const subnet = url.searchParams.get('subnet') ?? undefined;
  if (subnet !== undefined && !/^10\.\d{1,3}$/.test(subnet)) throw new LabError(`subnet=${subnet} in "${spec}" must be like 10.241`, undefined, 2);
  const base = { spec, maxLabs, subnetPrefix: subnet };
  if (url.protocol === 'unix:') return { ...base, kind: 'unix', options: { socketPath: url.pathname } };
  if (url.protocol === 'tcp:') {
    const dir = url.searchParams.get('tlsdir');
    const port = Number(url.port || (dir ? 2376 : 2375));
    if (!dir) throw new LabError(`"${spec}" has no tlsdir: an engine over TCP without TLS gives root on it to anyone on the network`, 'add ?tlsdir=DIR with ca.pem, cert.pem and key.pem', 2);
    const read = (name: string): Buffer => {
      try {
        return readFileSync(join(dir, name));
      } catch {
        throw new LabError(`${join(dir, name)} cannot be read (for engine ${spec})`, 'the folder needs ca.pem, cert.pem and key.pem', 2);
      }
    };
    return { ...base, kind: 'tcp', options: { protocol: 'https', host: url.hostname, port, ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') } };
  }
  if (url.protocol === 'ssh:') {
    const key = url.searchParams.get('key');
    // URL keeps an IPv6 address in its brackets; ssh and known_hosts want it bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port || 22);
    const username = decodeURIComponent(url.username || 'root');
    const login: ConnectConfig = { host, port, username, ...(key ? { privateKey: readFileSync(key) } : { agent: process.env.SSH_AUTH_SOCK }) };
    const knownHosts = url.searchParams.get('known_hosts');
    if (knownHosts) mustRead(knownHosts, spec, port === 22 ? host : `-p ${port} ${host}`);
    const hostTrust: HostTrustSource = { host, port, username, files: knownHosts ? [knownHosts] : defaultKnownHostsFiles(), named: knownHosts !== null };
    // Every request goes through the engine's shared SSH connection (see SshDialer), as plain HTTP over its channels.
    return { ...base, kind: 'ssh', ssh: { login, hostTrust }, options: { protocol: 'http', host: 'docker', port: 80 } };
  }
  throw new LabError(`"${spec}": engines are reached over unix:, tcp: or ssh:`, undefined, 2);
}

function mustRead(knownHosts: string, spec: string, keyscanArgs: string): void {
  try {
    accessSync(knownHosts, constants.R_OK);
  } catch {
    throw new LabError(`known_hosts=${knownHosts} in "${spec}" cannot be read`, `record the engine's host key there first: ssh-keyscan ${keyscanArgs} >> ${knownHosts}, after checking its fingerprint with the host's owner`, 2);
  }
}

/** A real engine: probed for its API version first, then spoken to in the version both understand. */
export class DockerRoomEngine implements RoomEngine {
  provider: DockerProvider;
  private version: string = CLIENT_API_VERSION;
  /** An ssh engine's shared connections; every client of this engine goes through them. */
  readonly dialer: SshDialer | null;
  private readonly options: Docker.DockerOptions;

  constructor(
    readonly id: number,
    private readonly parsed: EngineSpec,
    private readonly limits: MachineLimits,
  ) {
    this.dialer = parsed.ssh ? new SshDialer(parsed.ssh.login, parsed.ssh.hostTrust) : null;
    // docker-modem passes a given agent to every request (its typings do not list it).
    this.options = this.dialer ? ({ ...parsed.options, agent: this.dialer.agent() } as Docker.DockerOptions) : parsed.options;
    this.provider = this.connect();
  }

  get spec(): string {
    return this.parsed.spec;
  }

  get maxLabs(): number | null {
    return this.parsed.maxLabs;
  }

  private connect(): DockerProvider {
    return new DockerProvider(new Docker({ ...this.options, version: `v${this.version}` }), { limits: this.limits, subnetPrefix: this.parsed.subnetPrefix });
  }

  async probe(): Promise<EngineFacts> {
    try {
      // /version answers whatever version the client asks in: it says what the engine speaks.
      const version = (await withTimeout(new Docker({ ...this.options, version: 'v1.24' }).version(), 5000, `engine ${this.spec}`)) as { ApiVersion: string; MinAPIVersion?: string };
      const agreed = older(version.ApiVersion, CLIENT_API_VERSION);
      if (version.MinAPIVersion && older(agreed, version.MinAPIVersion) !== version.MinAPIVersion) {
        return { reachable: false, detail: `engine speaks API ${version.MinAPIVersion}–${version.ApiVersion}, hardway needs ${CLIENT_API_VERSION}` };
      }
      if (agreed !== this.version) {
        this.version = agreed;
        this.provider = this.connect();
      }
      const info = (await withTimeout(this.provider.docker.info(), 5000, `engine ${this.spec}`)) as { MemTotal: number };
      return { reachable: true, apiVersion: version.ApiVersion, memoryBytes: info.MemTotal };
    } catch (error) {
      return { reachable: false, detail: describe(error) };
    }
  }

  async close(): Promise<void> {
    this.dialer?.close();
  }
}

/** A LabError with what to try next (a refused host key says how to trust it), any other error by its message. */
function describe(error: unknown): string {
  if (error instanceof LabError && error.next) return `${error.message}; next: ${error.next}`;
  return error instanceof Error ? error.message : String(error);
}

/** The older of two API versions ("1.41" vs "1.43"). */
export function older(a: string, b: string): string {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 < b1 || (a1 === b1 && a2 <= b2) ? a : b;
}

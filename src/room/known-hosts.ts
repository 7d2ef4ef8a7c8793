import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
// ssh2 is CommonJS whose \`utils\` Node's ESM loader cannot see as a named export.
import ssh2, { type ParsedKey, type ServerHostKeyAlgorithm } from 'ssh2';

/**
 * OpenSSH's known_hosts files (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"), read the way `ssh` reads
 * them to decide whether the key a server offers is the one recorded for it.
 */
export interface KnownHostsEntry {
  file: string;
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field: comma-separated patterns, or one hashed name (|1|salt|hash). */
  hosts: string;
  key: ParsedKey;
}

export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown'; recordedTypes: string[] }
  | { kind: 'changed'; recorded: KnownHostsEntry }
  | { kind: 'revoked'; recorded: KnownHostsEntry };

/** Where `ssh` looks when no file is named: the user's files, then the system's. */
export function defaultKnownHostsFiles(): string[] {
  const ssh = join(homedir(), '.ssh');
  return [join(ssh, 'known_hosts'), join(ssh, 'known_hosts2'), '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
}

/** Every usable entry of these files; a missing file has none (as for ssh). */
export function readKnownHosts(files: readonly string[]): KnownHostsEntry[] {
  return files.flatMap((file) => {
    try {
      return parseKnownHosts(readFileSync(file, 'utf8'), file);
    } catch {
      return [];
    }
  });
}

/** Lines that are not an entry (comments, keys of types ssh2 cannot read, unknown markers) are skipped, as ssh skips them. */
export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const entry = parseLine(raw.trim(), file, index + 1);
    if (entry) entries.push(entry);
  });
  return entries;
}

function parseLine(line: string, file: string, number: number): KnownHostsEntry | null {
  if (line === '' || line.startsWith('#')) return null;
  const fields = line.split(/\s+/);
  let marker: KnownHostsEntry['marker'] = null;
  if (fields[0]?.startsWith('@')) {
    const word = fields.shift();
    if (word !== '@revoked' && word !== '@cert-authority') return null;
    marker = word === '@revoked' ? 'revoked' : 'cert-authority';
  }
  const [hosts, type, blob] = fields;
  if (!hosts || !type || !blob) return null;
  const key = ssh2.utils.parseKey(`${type} ${blob}`);
  if (key instanceof Error) return null;
  return { file, line: number, marker, hosts, key };
}

/** The name a host has in known_hosts: "host" on port 22, "[host]:port" on any other. */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** Whether a host field names this host: its hash, or a pattern (* and ?) that matches with no !pattern that does. */
export function matchesHost(hosts: string, name: string): boolean {
  if (hosts.startsWith('|')) return matchesHashedName(hosts, name);
  let matched = false;
  for (const pattern of hosts.toLowerCase().split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** |1|base64(salt)|base64(HMAC-SHA1 of the name, keyed with the salt): what `HashKnownHosts yes` writes. */
function matchesHashedName(hosts: string, name: string): boolean {
  const [, version, salt, hash] = hosts.split('|');
  if (version !== '1' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/**
 * What ssh concludes of the key a host offered: revoked beats everything; the same type and key
 * recorded is known; the same type with another key recorded has changed; else it is unknown.
 * @cert-authority lines trust keys signed by a CA (certificates, which ssh2 does not offer): never this key itself.
 */
export function judgeHostKey(entries: readonly KnownHostsEntry[], name: string, offered: ParsedKey): HostKeyVerdict {
  const forHost = entries.filter((entry) => matchesHost(entry.hosts, name));
  const same = (entry: KnownHostsEntry): boolean => entry.key.type === offered.type && entry.key.getPublicSSH().equals(offered.getPublicSSH());
  const revoked = forHost.find((entry) => entry.marker === 'revoked' && same(entry));
  if (revoked) return { kind: 'revoked', recorded: revoked };
  const plain = forHost.filter((entry) => entry.marker === null);
  if (plain.some(same)) return { kind: 'known' };
  const changed = plain.find((entry) => entry.key.type === offered.type);
  if (changed) return { kind: 'changed', recorded: changed };
  return { kind: 'unknown', recordedTypes: [...new Set(plain.map((entry) => entry.key.type))] };
}

/** As ssh prints a key's fingerprint: SHA256: and the unpadded base64 of the SHA-256 of its blob. */
export function sha256Fingerprint(key: ParsedKey): string {
  return `SHA256:${createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
}

/** ED25519, ECDSA, RSA: the name ssh gives a key's type in its messages. */
export function keyTypeName(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  if (type === 'ssh-rsa') return 'RSA';
  if (type === 'ssh-dss') return 'DSA';
  return type;
}

/**
 * The host key algorithms to ask for first: those of the keys recorded for the host (as ssh orders
 * them), so a server with several host keys shows the recorded one, not another ssh would call unknown.
 */
export function recordedHostKeyAlgorithms(entries: readonly KnownHostsEntry[], name: string): ServerHostKeyAlgorithm[] {
  const types = new Set(entries.filter((entry) => entry.marker === null && matchesHost(entry.hosts, name)).map((entry) => entry.key.type));
  return [...types].flatMap((type) => ALGORITHMS_OF[type] ?? []);
}

const ALGORITHMS_OF: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

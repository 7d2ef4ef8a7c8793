import { homedir } from 'node:os';
// ssh2 is CommonJS whose \`utils\` Node's ESM loader cannot see as a named export.
import ssh2, { type ParsedKey, type ServerHostKeyAlgorithm } from 'ssh2';
import { LabError } from '../util/errors.ts';
import { judgeHostKey, keyTypeName, knownHostsName, readKnownHosts, recordedHostKeyAlgorithms, sha256Fingerprint, type KnownHostsEntry } from './known-hosts.ts';

/** Where an ssh engine's host key must be recorded: the files given in its spec, or ssh's own. */
export interface HostTrustSource {
  host: string;
  port: number;
  username: string;
  files: string[];
  /** The spec named the file (known_hosts=FILE): the key is trusted from it alone. */
  named: boolean;
}

/** What one SSH connection checks its server's host key against. */
export interface HostTrust {
  /** Host key algorithms to ask for first (those recorded for the host). */
  preferredAlgorithms: ServerHostKeyAlgorithm[];
  /** Null for a trusted key; else the error to give instead of ssh2's "Host denied". */
  refusal(offered: Buffer): LabError | null;
}

/** Read afresh for every connection, so a key added with ssh-keyscan counts from the next probe on. */
export function loadHostTrust(source: HostTrustSource): HostTrust {
  const entries = readKnownHosts(source.files);
  const name = knownHostsName(source.host, source.port);
  return {
    preferredAlgorithms: recordedHostKeyAlgorithms(entries, name),
    refusal: (offered) => refusalOf(source, entries, name, offered),
  };
}

function refusalOf(source: HostTrustSource, entries: KnownHostsEntry[], name: string, offered: Buffer): LabError | null {
  const key = ssh2.utils.parseKey(offered);
  if (key instanceof Error) return new LabError(`the ssh engine ${name} offered a host key hardway cannot read (${key.message})`, 'reach it with `ssh` to see what it offers', 2);
  const verdict = judgeHostKey(entries, name, key);
  const offeredKey = `${keyTypeName(key.type)} key ${sha256Fingerprint(key)}`;
  switch (verdict.kind) {
    case 'known':
      return null;
    case 'unknown': {
      const others = verdict.recordedTypes.length ? `; only ${verdict.recordedTypes.map(keyTypeName).join(', ')} keys are recorded for it` : '';
      return new LabError(
        `the ssh engine ${name} is not a known host: it offered ${offeredKey}, which is not recorded in ${source.files.map(tilde).join(', ')}${others}. Refused, as ssh refuses an unknown host`,
        `check that fingerprint with the host's owner (on the host: ssh-keygen -lf ${hostKeyFile(key)}), then trust it: ${howToTrust(source)}`,
        2,
      );
    }
    case 'changed':
      return new LabError(
        `WARNING: the ssh engine ${name} offered ${offeredKey}, but ${at(verdict.recorded)} records a different ${keyTypeName(key.type)} key for it. Someone may be intercepting the connection (a man-in-the-middle), or the host's key was replaced. Refused`,
        `ask the host's owner whether its key changed (ssh-keygen -lf ${hostKeyFile(key)} on it); only if ${sha256Fingerprint(key)} is its new key: ssh-keygen -R '${name}' -f ${verdict.recorded.file}, then ${howToTrust(source)}`,
        2,
      );
    case 'revoked':
      return new LabError(
        `the ssh engine ${name} offered ${offeredKey}, which ${at(verdict.recorded)} marks @revoked. Refused`,
        'ask the host\'s owner to replace the revoked host key, then record the new one once its fingerprint is checked',
        2,
      );
  }
}

function at(entry: KnownHostsEntry): string {
  return `${tilde(entry.file)}:${entry.line}`;
}

function howToTrust(source: HostTrustSource): string {
  const port = source.port === 22 ? '' : `-p ${source.port} `;
  const file = source.named ? source.files[0]! : '~/.ssh/known_hosts';
  return `ssh-keyscan ${port}${source.host} >> ${file} (or ssh ${port}${source.username}@${source.host} once and answer yes${source.named ? `, then copy its line from ~/.ssh/known_hosts to ${file}` : ''})`;
}

function hostKeyFile(key: ParsedKey): string {
  const type = keyTypeName(key.type).toLowerCase();
  return `/etc/ssh/ssh_host_${type}_key.pub`;
}

function tilde(file: string): string {
  const home = homedir();
  return file.startsWith(`${home}/`) ? `~${file.slice(home.length)}` : file;
}

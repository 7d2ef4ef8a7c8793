import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils, type ParsedKey } from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHostTrust } from '../../../src/room/host-trust.ts';
import { judgeHostKey, knownHostsName, matchesHost, parseKnownHosts, recordedHostKeyAlgorithms, sha256Fingerprint } from '../../../src/room/known-hosts.ts';

// Made with ssh-keygen; the fingerprints and the hashed lines are what ssh-keygen -lf and -H printed for them.
const A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH+3AGDKcUMiDznWn4teloWWxeCH97KqryZC8XCZCK5t';
const A_FINGERPRINT = 'SHA256:o9fu5D+m2ZBedQTJSjUHEJkEzNvjpnGwQugRZ1CM3nU';
const B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoBsko0e1SSLQU3QzgDliFnrEhBlBZ0TFVg3cZL1HaW';
const B_FINGERPRINT = 'SHA256:5gzNBzV7EeCu0r58LgsaKGHrMFwLvBW6LVSgZ4TXl0U';
const C = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMiIF6tH4d4iUx0UKwy2lrc27GGrFAYrS356St3t4owa5q+a7Kxk7Xod5fXtfiUcWi1GG2iBiDglyxa8rXPoKpk=';
const C_FINGERPRINT = 'SHA256:AI2Y8iQ+5FJelpMTHA7UX0OsrNENgw5UuXdsvB4PYWg';
const R = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDK4cZb2Tb43+i4vJwZr2ZPeLBLOCz/Mpknv0nYWDfm0kQlpb+1LDFLmXe0KofNA9ArGOoL8YJYCyOx/q2C5+/PYc4hsiKJdtN3kMQLkMQoreAp1N9pAVnw2i6G4n7iBCAN5g/DGmxTgwvwEIuvnhSPgKJFvsOVUMm8lne9b46nDQ==';
/** ssh-keygen -H of "engine.example A" and "[engine.example]:2222 A". */
const HASHED = `|1|1l/SFTFYjTjXuWdEUOo5k0pIx74=|o7MntRO/cOoqNeEQNC8/Q7l7N7Q= ${A}\n|1|G4AVeae/xAs55t+8m6m7QJCNGUw=|vDLgg5ADo7LugLCOjpLoLKOt7pM= ${A}\n`;

function key(text: string): ParsedKey {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) throw parsed;
  return parsed;
}

function judge(file: string, host: string, port: number, offered: string) {
  return judgeHostKey(parseKnownHosts(file, 'known_hosts'), knownHostsName(host, port), key(offered));
}

describe('known_hosts, read as ssh reads it', () => {
  it('names a host on port 22 bare and on any other port as [host]:port, lowercased', () => {
    expect(knownHostsName('Engine.Example', 22)).toBe('engine.example');
    expect(knownHostsName('engine.example', 2222)).toBe('[engine.example]:2222');
  });

  it('knows a plain entry, one name of several, and no other host', () => {
    expect(judge(`engine.example ${A}\n`, 'engine.example', 22, A)).toEqual({ kind: 'known' });
    expect(judge(`other.example,Engine.Example,10.0.0.5 ${A}\n`, 'engine.example', 22, A)).toEqual({ kind: 'known' });
    expect(judge(`other.example ${A}\n`, 'engine.example', 22, A)).toEqual({ kind: 'unknown', recordedTypes: [] });
    expect(judge(`engine.example.org ${A}\n`, 'engine.example', 22, A).kind).toBe('unknown');
  });

  it('keeps ports apart: [host]:port is another host than host, and than [host]:other', () => {
    expect(judge(`[engine.example]:2222 ${A}\n`, 'engine.example', 2222, A)).toEqual({ kind: 'known' });
    expect(judge(`[engine.example]:2222 ${A}\n`, 'engine.example', 22, A).kind).toBe('unknown');
    expect(judge(`[engine.example]:2222 ${A}\n`, 'engine.example', 2223, A).kind).toBe('unknown');
    expect(judge(`engine.example ${A}\n`, 'engine.example', 2222, A).kind).toBe('unknown');
  });

  it('matches hashed entries (|1|salt|HMAC-SHA1) as ssh-keygen -H wrote them, port form included', () => {
    expect(judge(HASHED, 'engine.example', 22, A)).toEqual({ kind: 'known' });
    expect(judge(HASHED, 'engine.example', 2222, A)).toEqual({ kind: 'known' });
    expect(judge(HASHED, 'engine.example', 2223, A).kind).toBe('unknown');
    expect(judge(HASHED, 'other.example', 22, A).kind).toBe('unknown');
    expect(matchesHost('|1|bm90IGEgc2FsdA==|', 'engine.example')).toBe(false);
  });

  it('matches * and ? patterns, and a !pattern excludes a host the others name', () => {
    expect(matchesHost('*.example', 'engine.example')).toBe(true);
    expect(matchesHost('engine-?.example', 'engine-1.example')).toBe(true);
    expect(matchesHost('engine-?.example', 'engine-10.example')).toBe(false);
    expect(matchesHost('*.example,!bad.example', 'bad.example')).toBe(false);
    expect(matchesHost('[*.example]:2222', '[engine.example]:2222')).toBe(true);
    expect(matchesHost('engine.example', 'engineXexample')).toBe(false);
  });

  it('calls a different key of the recorded type changed, and says which line recorded it', () => {
    const verdict = judge(`# engines\nengine.example ${A}\n`, 'engine.example', 22, B);
    expect(verdict.kind).toBe('changed');
    expect(verdict.kind === 'changed' && verdict.recorded.line).toBe(2);
    expect(judge(HASHED, 'engine.example', 2222, B).kind).toBe('changed');
  });

  it('calls a key of a type not recorded unknown (as ssh does), naming the recorded types', () => {
    expect(judge(`engine.example ${C}\n`, 'engine.example', 22, A)).toEqual({ kind: 'unknown', recordedTypes: ['ecdsa-sha2-nistp256'] });
  });

  it('refuses a @revoked key even where a plain line trusts it, and a @cert-authority key is no trust in itself', () => {
    expect(judge(`engine.example ${A}\n@revoked * ${A}\n`, 'engine.example', 22, A).kind).toBe('revoked');
    expect(judge(`@revoked * ${B}\nengine.example ${A}\n`, 'engine.example', 22, A)).toEqual({ kind: 'known' });
    expect(judge(`@cert-authority engine.example ${A}\n`, 'engine.example', 22, A)).toEqual({ kind: 'unknown', recordedTypes: [] });
    expect(judge(`@made-up engine.example ${A}\n`, 'engine.example', 22, A).kind).toBe('unknown');
  });

  it('skips comments, blank and broken lines, and counts lines as they are in the file', () => {
    const entries = parseKnownHosts(`# a comment\n\nengine.example ssh-ed25519 not-base64\nengine.example\n  other.example ${B} a comment\n`, 'f');
    expect(entries.map((e) => [e.hosts, e.line])).toEqual([['other.example', 5]]);
  });

  it('prints a fingerprint as ssh-keygen -lf does', () => {
    expect(sha256Fingerprint(key(A))).toBe(A_FINGERPRINT);
    expect(sha256Fingerprint(key(B))).toBe(B_FINGERPRINT);
    expect(sha256Fingerprint(key(C))).toBe(C_FINGERPRINT);
  });

  it('asks first for the host key algorithms of the keys recorded for the host', () => {
    const entries = parseKnownHosts(`engine.example ${R}\n[engine.example]:2222 ${C}\n@revoked engine.example ${A}\n`, 'f');
    expect(recordedHostKeyAlgorithms(entries, 'engine.example')).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(recordedHostKeyAlgorithms(entries, '[engine.example]:2222')).toEqual(['ecdsa-sha2-nistp256']);
    expect(recordedHostKeyAlgorithms(entries, 'other.example')).toEqual([]);
  });
});

describe("an ssh engine's host trust", () => {
  const dir = mkdtempSync(join(tmpdir(), 'hardway-known-hosts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const trustIn = (text: string, port = 2222) => {
    const file = join(dir, `known_hosts-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, text);
    return { file, trust: loadHostTrust({ host: 'engine.example', port, username: 'hw', files: [file], named: true }) };
  };
  const blob = (text: string): Buffer => key(text).getPublicSSH();

  it('trusts the recorded key', () => {
    expect(trustIn(`[engine.example]:2222 ${A}\n`).trust.refusal(blob(A))).toBeNull();
  });

  it('refuses an unknown host with the fingerprint and how to trust it', () => {
    const { file, trust } = trustIn(`other.example ${A}\n`);
    const refusal = trust.refusal(blob(A));
    expect(refusal?.message).toContain(`not a known host: it offered ED25519 key ${A_FINGERPRINT}`);
    expect(refusal?.next).toContain(`ssh-keyscan -p 2222 engine.example >> ${file}`);
    expect(refusal?.next).toContain('ssh -p 2222 hw@engine.example once');
  });

  it('refuses a changed key loudly, naming the file and line that recorded the other one', () => {
    const { file, trust } = trustIn(`[engine.example]:2222 ${A}\n`);
    const refusal = trust.refusal(blob(B));
    expect(refusal?.message).toMatch(/^WARNING: /);
    expect(refusal?.message).toContain(`offered ED25519 key ${B_FINGERPRINT}, but ${file}:1 records a different ED25519 key`);
    expect(refusal?.message).toContain('man-in-the-middle');
    expect(refusal?.next).toContain(`ssh-keygen -R '[engine.example]:2222' -f ${file}`);
  });

  it('refuses a revoked key', () => {
    const { file, trust } = trustIn(`[engine.example]:2222 ${A}\n@revoked * ${A}\n`);
    expect(trust.refusal(blob(A))?.message).toContain(`${A_FINGERPRINT}, which ${file}:2 marks @revoked`);
  });

  it('leaves -p out on port 22, and a missing file records nothing', () => {
    const trust = loadHostTrust({ host: 'engine.example', port: 22, username: 'hw', files: [join(dir, 'absent')], named: false });
    const refusal = trust.refusal(blob(C));
    expect(refusal?.message).toContain(C_FINGERPRINT);
    expect(refusal?.next).toContain('ssh-keyscan engine.example >> ~/.ssh/known_hosts');
  });
});

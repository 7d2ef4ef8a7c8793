/**
 * A fault's `fixed` messages are what a learner reads on every `lab check` while the fault is active.
 * They must say what the learner can observe is still wrong, never the cause: the cause belongs to the
 * last rung of the hint ladder and to `lab giveup`.
 *
 * The rule, made mechanical: no `fixed[].fail` message may name a token that the fault's own scripts
 * (inject, solve, and the checks' `run`s, which read the very file or key that was broken) contain:
 *
 * - a path (`/etc/cni/net.d`, `/var/lib/kube-proxy/kubeconfig`), or anything below it, or its basename
 *   (`kubeconfig`, `Corefile`, `runc`);
 * - a file name with an extension (`kube-scheduler.yaml`, `10-bridge.conf`, `admin.crt`, `kubelet.service`);
 * - a `--flag`, written with its dashes; a flag of several words (`--etcd-servers`) also without them;
 * - a config key: TOML/INI `key = value` (BinaryName, sandbox_image), YAML `key:` (tlsCertFile, secret),
 *   JSON `"key":`, the fields of a jsonpath `{.a.b}` or a jq program (unschedulable, subnet);
 * - a unit given to `systemctl` or `journalctl -u`.
 *
 * Tokens match case-insensitively as whole words: `-`, `_`, `/` and a dot followed by a letter or digit
 * join words, so `kubernetes` does not match inside `server.kubernetes.local`, while a sentence's final
 * full stop does not stop a match.
 *
 * Never flagged, because the learner observes them before knowing any cause: the machines' names, and
 * the course's components, i.e. the systemd units whose journals make the log timeline (`etcd`,
 * `kubelet`, `kube-proxy` …, from src/lab/topology.ts). "The kubelet on node-1 is not running" is what
 * `ps`, `systemctl status` and `kubectl get nodes` show; naming where the symptom is seen is the first
 * rung of the method, not the answer. Their unit files and config files (`kubelet.service`,
 * `kube-scheduler.yaml`) are flagged like any other file.
 *
 * Anything else a message must name anyway is listed in the fault file under `message_exceptions`,
 * each with its reason; an exception no message needs is an error, so the list stays honest.
 */
import { describe, expect, it } from 'vitest';
import { loadFaults, type Fault } from '../../../src/engine/faults.ts';
import { MACHINE_NAMES, MACHINES } from '../../../src/lab/topology.ts';

const OBSERVED: ReadonlySet<string> = new Set([...MACHINE_NAMES, ...MACHINES.flatMap((m) => m.units)].map((w) => w.toLowerCase()));
const FILE_EXTENSIONS = 'yaml|yml|json|toml|conf|cnf|crt|key|csr|pem|srl|kubeconfig|service|socket|txt|moved';

export interface Token {
  word: string;
  kind: 'path' | 'file' | 'flag' | 'key' | 'unit';
}

/** Every path, file name, --flag, config key and unit name in a shell script. */
export function scriptTokens(script: string): Token[] {
  // Comments explain, they configure nothing; printf's \n separates lines as much as a newline does.
  const text = script.replace(/^\s*#.*$/gm, '').replace(/\\n/g, '\n');
  const tokens: Token[] = [];
  const add = (kind: Token['kind'], word: string | undefined): void => {
    if (!word || word.length < 2) return;
    tokens.push({ kind, word });
    // sandbox_image and BinaryName are as telling written "sandbox image" and "binary name".
    const spaced = word.replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2');
    if (kind === 'key' && spaced !== word) tokens.push({ kind, word: spaced });
  };

  for (const [, raw] of text.matchAll(/(?:^|[\s'"=|(<>])(\/[A-Za-z][\w.*-]*(?:\/[\w.*-]+)*)\/?/gm)) {
    const path = raw!.replace(/(\/\*|\*)+$/, '');
    if (path.startsWith('/dev/')) continue;
    const segments = path.split('/');
    for (let n = Math.min(3, segments.length); n <= segments.length; n++) add('path', segments.slice(0, n).join('/'));
    const base = segments.at(-1)!;
    if (segments.length > 2 && !/[*$]/.test(base)) add('path', base);
  }
  for (const [file] of text.matchAll(new RegExp(`[\\w-]+(?:\\.[\\w-]+)*\\.(?:${FILE_EXTENSIONS})(?![\\w-])`, 'g'))) add('file', file);

  for (const [flag] of text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) {
    add('flag', flag);
    if (flag.slice(2).includes('-')) add('flag', flag.slice(2));
  }

  for (const [, key] of text.matchAll(/(?:^|[\s"'])([A-Za-z_][\w]*) = /gm)) add('key', key);
  for (const [, key] of text.matchAll(/(?:^|[\s{,'"|^-])([A-Za-z_][\w-]*):(?=[\s"]|\/(?!\/)|$)/gm)) add('key', key);
  for (const [, key] of text.matchAll(/"([A-Za-z_][\w-]*)":/g)) add('key', key);
  for (const [expression] of [...text.matchAll(/\{\.[^}']*\}/g), ...text.matchAll(/jq\s+(?:-\w+\s+)*'[^']*'/g)]) {
    for (const [, key] of expression!.matchAll(/\.([A-Za-z_][\w-]*)/g)) add('key', key);
  }

  for (const [, units] of text.matchAll(/systemctl\s+(?:-\S+\s+)*(?:start|stop|restart|reload|enable|disable|status|is-active|is-enabled|mask|unmask|kill)\s+((?:(?:--?\S+|[\w@.-]+)[ \t]*)+)/g)) {
    for (const unit of units!.split(/\s+/)) if (unit && !unit.startsWith('-')) add('unit', unit.replace(/\.service$/, ''));
  }
  for (const [, unit] of text.matchAll(/journalctl\s+(?:-\S+\s+)*-u\s+([\w@.-]+)/g)) add('unit', unit!.replace(/\.service$/, ''));
  return tokens;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether a message names a token as a whole word (a path also when the message names something below it). */
export function names(message: string, word: string): boolean {
  const after = word.startsWith('/') ? '(?![\\w-]|\\.[\\w])' : '(?![\\w/-]|\\.[\\w])';
  return new RegExp(`(?<![\\w./-])${escape(word)}${after}`, 'i').test(message);
}

export interface Violation {
  message: string;
  token: Token;
}

/** The fault's scripts' tokens that its `fixed` messages name, less the observed names and the fault's exceptions. */
export function violations(fault: Pick<Fault, 'inject' | 'solve' | 'fixed' | 'message_exceptions'>): Violation[] {
  const excepted = new Set((fault.message_exceptions ?? []).map((e) => e.word.toLowerCase()));
  const scripts = [...fault.inject, ...fault.solve, ...fault.fixed].map((a) => a.run);
  const seen = new Set<string>();
  const tokens = scripts.flatMap(scriptTokens).filter((t) => {
    const word = t.word.toLowerCase();
    if (OBSERVED.has(word) || excepted.has(word) || seen.has(word)) return false;
    seen.add(word);
    return true;
  });
  return fault.fixed.flatMap((check) => tokens.filter((t) => names(check.fail, t.word)).map((token) => ({ message: check.fail, token })));
}

const faults = loadFaults();

describe('fault messages describe, never tell', () => {
  it.each(faults.map((f) => [f.id, f] as const))('%s: no fixed message names a path, flag, key or unit from its scripts', (_id, fault) => {
    expect(violations(fault).map((v) => `${v.token.kind} ${v.token.word} in: ${v.message}`)).toEqual([]);
  });

  it.each(faults.filter((f) => f.message_exceptions?.length).map((f) => [f.id, f] as const))('%s: every message exception is needed', (_id, fault) => {
    const tokens = [...fault.inject, ...fault.solve, ...fault.fixed].flatMap((a) => scriptTokens(a.run)).map((t) => t.word.toLowerCase());
    for (const exception of fault.message_exceptions!) {
      const word = exception.word.toLowerCase();
      expect(tokens, `${exception.word} is not a token of the scripts`).toContain(word);
      expect(
        fault.fixed.some((c) => names(c.fail, exception.word)),
        `no message names ${exception.word}`,
      ).toBe(true);
    }
  });
});

describe('the token rule itself', () => {
  const base = {
    inject: [
      {
        machine: 'server' as const,
        run: [
          "sed -i 's|--etcd-servers=http://127.0.0.1:2379|--etcd-servers=http://127.0.0.1:2381|' /etc/systemd/system/kube-apiserver.service",
          "sed -i 's|^    SystemdCgroup = false$|    BinaryName = \"/usr/local/bin/runc\"|' /etc/containerd/config.toml",
          "sed -i '/^tlsCertFile:/d' /var/lib/kubelet/kubelet-config.yaml",
          'cd /var/lib/kubernetes && cp /root/ca.crt .',
          'systemctl daemon-reload',
          'systemctl restart kube-apiserver docker-registry my-sidecar',
        ].join('\n'),
      },
    ],
    solve: [{ machine: 'server' as const, run: 'systemctl start kube-apiserver' }],
  };
  const flagged = (fail: string, message_exceptions?: { word: string; reason: string }[]): string[] =>
    violations({ ...base, fixed: [{ machine: 'server', run: 'true', fail }], message_exceptions }).map((v) => v.token.word);

  it('catches a flag from the inject script, with or without its dashes', () => {
    expect(flagged('The API server is not running with --etcd-servers=http://127.0.0.1:2379.')).toContain('--etcd-servers');
    expect(flagged('The API server has the wrong etcd-servers.')).toEqual(['etcd-servers']);
  });

  it('catches paths, file names, keys and units, case-insensitively', () => {
    expect(flagged('Check /etc/containerd/config.toml.')).toContain('/etc/containerd/config.toml');
    expect(flagged('Check config.toml.')).toEqual(['config.toml']);
    expect(flagged('Something under /etc/containerd is wrong.')).toEqual(['/etc/containerd']);
    expect(flagged('The binaryname is wrong.')).toEqual(['BinaryName']);
    expect(flagged('The binary name is wrong.')).toEqual(['Binary Name']);
    expect(flagged('runc cannot be found.')).toEqual(['runc']);
    expect(flagged('The kubelet serves no tlsCertFile.')).toEqual(['tlsCertFile']);
    expect(flagged('kube-apiserver.service was edited.')).toEqual(['kube-apiserver.service']);
    expect(flagged('my-sidecar is not running.')).toEqual(['my-sidecar']);
  });

  it('lets the learner-visible names through: components and machines', () => {
    expect(flagged('kube-apiserver is not running on the server.')).toEqual([]);
    expect(flagged('docker-registry on the jumpbox does not answer.')).toEqual([]);
    expect(flagged('Pods on node-1 still cannot start their sandbox.')).toEqual([]);
  });

  it('matches whole words only', () => {
    expect(flagged('The API server is not ready at server.kubernetes.local.')).toEqual([]);
    expect(flagged('The binarynames differ.')).toEqual([]);
  });

  it('an exception lets one word through, and only that word', () => {
    const exception = [{ word: 'runc', reason: 'a test of the mechanism' }];
    expect(flagged('runc cannot be found.', exception)).toEqual([]);
    expect(flagged('runc has no BinaryName.', exception)).toEqual(['BinaryName']);
  });
});

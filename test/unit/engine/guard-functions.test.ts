/**
 * The guards of labs/health.yaml read a running component's flags from /proc/PID/cmdline with the file's
 * guard_functions, which must read them as the components' flag parser (spf13/pflag under component-base)
 * does. Here each case is a real process on this host (bash sleeping, with the case's arguments) and the
 * functions are asked about its PID; the guards' verdicts on the real machines are the faults suite's.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_FILE, loadHealth } from '../../../src/engine/faults.ts';
import { parse } from 'yaml';

const functions = (parse(readFileSync(DEFAULT_HEALTH_FILE, 'utf8')) as { guard_functions: string }).guard_functions;
const running: ChildProcess[] = [];

/** A binary whose --help lists flags as kube-apiserver's does: switches with no type after the name. */
const binary = join(mkdtempSync(join(tmpdir(), 'guard-help-')), 'kube-apiserver');
writeFileSync(binary, `#!/bin/sh
cat <<'EOF'
Generic flags:

      --allow-privileged                         If true, allow privileged containers. [default=false]
      --audit-log-path string                    If set, all requests coming to the apiserver will be logged to this file.
      --authorization-mode strings               Ordered list of plug-ins to do authorization on secure port.
      --profiling                                Enable profiling via web interface host:port/debug/pprof/ (default true)
  -h, --help                                     help for kube-apiserver
  -v, --v Level                                  number for the log level verbosity
EOF
`);
chmodSync(binary, 0o755);

/** A process whose command line is `kube-apiserver ARGS…` after bash's own (which are not flags). */
async function processWith(args: string[]): Promise<number> {
  const child = spawn('bash', ['-c', 'sleep 30; :', 'kube-apiserver', ...args], { stdio: 'ignore' });
  running.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return child.pid!;
}

/** What a guard function prints about the process's flag, and its exit code. */
async function ask(fn: 'flag_list' | 'flag_value' | 'flag_given', name: string, args: string[]): Promise<{ out: string; code: number }> {
  const pid = await processWith(args);
  try {
    const out = execFileSync('bash', ['-c', `${functions}\n${fn} ${pid} ${name}`], { encoding: 'utf8', env: { ...process.env, GUARD_BINARY: binary } });
    return { out, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; status: number };
    return { out: failed.stdout, code: failed.status };
  }
}
const list = async (name: string, ...args: string[]): Promise<string[]> => (await ask('flag_list', name, args)).out.split('\n').slice(0, -1);

afterEach(() => {
  for (const child of running.splice(0)) child.kill();
});

describe('the guards\' flag reading', () => {
  it('is put before every guard\'s script when labs/health.yaml loads', () => {
    expect(functions).toMatch(/flag_values\(\)/);
    for (const guard of loadHealth().guards) expect(guard.run.startsWith(functions.trimEnd())).toBe(true);
  });

  it('reads a list flag in either form, with underscores for dashes, and adds up a repeated flag (pflag\'s string slices append)', async () => {
    expect(await list('authorization-mode', '--authorization-mode=Node,RBAC')).toEqual(['Node', 'RBAC']);
    expect(await list('authorization-mode', '--authorization-mode', 'RBAC,Node')).toEqual(['RBAC', 'Node']);
    expect(await list('enable-admission-plugins', '--enable_admission_plugins=NodeRestriction')).toEqual(['NodeRestriction']);
    expect(await list('enable-admission-plugins', '--enable-admission-plugins=A', '--v=2', '--enable-admission-plugins', 'B,C')).toEqual(['A', 'B', 'C']);
    // the next argument is the value, whatever it looks like
    expect(await list('authorization-mode', '--authorization-mode', '--authorization-mode=AlwaysAllow')).toEqual(['--authorization-mode=AlwaysAllow']);
    expect(await list('authorization-mode', '--authorization-modes=AlwaysAllow', '-authorization-mode=AlwaysAllow')).toEqual([]);
  });

  it('reads each value as one CSV record, as pflag does: double quotes around an item, the first line only, nothing trimmed', async () => {
    expect(await list('enable-admission-plugins', '--enable-admission-plugins="NodeRestriction",LimitRanger')).toEqual(['NodeRestriction', 'LimitRanger']);
    expect(await list('enable-admission-plugins', '--enable-admission-plugins="LimitRanger,NodeRestriction"')).toEqual(['LimitRanger,NodeRestriction']);
    expect(await list('authorization-mode', '--authorization-mode=Node,RBAC\nAlwaysAllow')).toEqual(['Node', 'RBAC']);
    expect(await list('authorization-mode', '--authorization-mode="Node\nRBAC"')).toEqual(['Node\\nRBAC']);
    expect(await list('authorization-mode', '--authorization-mode=Node, RBAC')).toEqual(['Node', ' RBAC']);
    expect(await list('authorization-mode', "--authorization-mode='Node'")).toEqual(["'Node'"]);
    expect(await list('enable-admission-plugins', '--enable-admission-plugins=')).toEqual([]);
  });

  it('stops at a lone --, after which nothing is a flag', async () => {
    expect(await list('authorization-mode', '--authorization-mode=Node', '--', '--authorization-mode=AlwaysAllow')).toEqual(['Node']);
  });

  it('knows a bare flag that takes a value swallows the next argument, and a switch does not, from the binary\'s --help', async () => {
    const switches = execFileSync('bash', ['-c', `${functions}\nbinary_switches ${binary}`], { encoding: 'utf8' });
    expect(switches.split('\n').filter(Boolean)).toEqual(['--allow-privileged', '--profiling', '-h', '--help']);
    expect(await list('authorization-mode', '--allow-privileged', '--authorization-mode=Node,RBAC')).toEqual(['Node', 'RBAC']);
    expect(await list('authorization-mode', '--allow_privileged', '--authorization-mode', 'Node')).toEqual(['Node']);
    expect(await list('authorization-mode', '--audit-log-path', '--authorization-mode=Node,RBAC')).toEqual([]);
    expect(await list('authorization-mode', '--audit-log-path', '--authorization-mode=AlwaysAllow', '--authorization-mode=Node,RBAC')).toEqual(['Node', 'RBAC']);
    expect(await list('authorization-mode', '--audit-log-path', '--allow-privileged', '--authorization-mode=AlwaysAllow')).toEqual(['AlwaysAllow']);
    expect(await list('authorization-mode', '-v', '--authorization-mode=AlwaysAllow', '-h', '--authorization-mode=Node')).toEqual(['Node']);
    // a lone -- after a flag that takes a value is that value, not the end of the flags
    expect(await list('authorization-mode', '--audit-log-path', '--', '--authorization-mode=AlwaysAllow')).toEqual(['AlwaysAllow']);
    expect(await list('authorization-mode', '--profiling', '--', '--authorization-mode=AlwaysAllow')).toEqual([]);
  });

  it('tells a list flag given empty from one not given, and gives a string flag\'s last value', async () => {
    expect((await ask('flag_given', 'admission-control', ['--admission-control='])).code).toBe(0);
    expect((await ask('flag_given', 'admission-control', ['--enable-admission-plugins=X'])).code).toBe(1);
    expect(await ask('flag_value', 'encryption-provider-config', ['--encryption-provider-config=/a', '--encryption_provider_config', '/b'])).toEqual({ out: '/b', code: 0 });
    expect(await ask('flag_value', 'encryption-provider-config', ['--encryption-provider-config=/a', '--encryption-provider-config='])).toEqual({ out: '', code: 0 });
    expect(await ask('flag_value', 'encryption-provider-config', ['--etcd-servers=http://127.0.0.1:2379'])).toEqual({ out: '', code: 1 });
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { machineSecurityOptions, readMachineSecurity, seccompProfile } from '../../../vm/machine-security.ts';
import { fromPackage } from '../../../src/util/package-root.ts';

interface Rule {
  names: string[];
  action: string;
  errnoRet?: number;
  includes?: { caps?: string[] };
}

const allowing = (rules: Rule[], name: string): Rule[] => rules.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name));

describe("a machine's capabilities and system calls", () => {
  const security = readMachineSecurity();
  const profile = seccompProfile(security) as unknown as { defaultAction: string; syscalls: Rule[] };
  const base = JSON.parse(readFileSync(fromPackage('vm', 'security', security.seccomp.base), 'utf8')) as { syscalls: Rule[] };

  it('drops every capability but the listed ones, and none of those reaches past the machine', () => {
    const options = machineSecurityOptions();
    expect(options.CapDrop).toEqual(['ALL']);
    expect(options.CapAdd).toEqual(expect.arrayContaining(['SYS_ADMIN', 'NET_ADMIN', 'CHOWN']));
    for (const cap of ['SYS_MODULE', 'SYS_BOOT', 'SYS_TIME', 'SYS_RAWIO', 'SYSLOG', 'MAC_ADMIN', 'MAC_OVERRIDE', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'DAC_READ_SEARCH', 'SYS_RESOURCE', 'PERFMON', 'BPF', 'ALL']) {
      expect(options.CapAdd, cap).not.toContain(cap);
    }
    expect(security.capabilities.every((c) => c.why.length > 0)).toBe(true);
  });

  it("is Docker's default profile with what the course needs changed, refusing what is not listed", () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    // The base, positive control: it does allow these with CAP_SYS_ADMIN, which machines have.
    expect(allowing(base.syscalls, 'perf_event_open').some((r) => r.includes?.caps?.includes('CAP_SYS_ADMIN'))).toBe(true);
    expect(allowing(base.syscalls, 'syslog').length).toBeGreaterThan(0);
    for (const name of ['perf_event_open', 'syslog']) expect(allowing(profile.syscalls, name), name).toEqual([]);
    // What systemd and runc need from CAP_SYS_ADMIN's rule stays.
    for (const name of ['mount', 'umount2', 'unshare', 'setns']) expect(allowing(profile.syscalls, name).length, name).toBeGreaterThan(0);
    // Not in the base, nor added: still refused by the default action.
    for (const name of ['kexec_load', 'open_by_handle_at']) expect(profile.syscalls.filter((r) => r.names.includes(name) && !r.includes?.caps), name).toEqual([]);
  });

  it("answers the kernel keyring calls with ENOSYS, which runc and systemd take as 'no keyrings'", () => {
    const keyring = profile.syscalls.filter((r) => r.names.includes('keyctl'));
    expect(keyring).toEqual([expect.objectContaining({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 })]);
    expect(allowing(profile.syscalls, 'add_key')).toEqual([]);
  });

  it('is passed to the engine as the seccomp option, with AppArmor left to the host', () => {
    const [seccomp, apparmor] = machineSecurityOptions().SecurityOpt;
    expect(JSON.parse(seccomp!.replace(/^seccomp=/, ''))).toEqual(profile);
    expect(apparmor).toBe('apparmor=unconfined');
  });
});

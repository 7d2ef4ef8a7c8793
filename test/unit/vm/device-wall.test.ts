import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MACHINE_CGROUP_PARENT, closeDeviceList } from '../../../vm/device-wall.ts';
import { helperCommand } from '../../../vm/helper-container.ts';

/** The helper's script, run by this host's sh on a folder standing for the devices hierarchy. */
function closeIn(devices: string): { status: number | null; stdout: string } {
  const [shell, ...args] = helperCommand(closeDeviceList(devices));
  return spawnSync(shell!, args, { encoding: 'utf8' });
}

describe("closing the machines' device list", () => {
  const hierarchy = (list: string): string => {
    const devices = mkdtempSync(join(tmpdir(), 'hardway-devices-'));
    mkdirSync(join(devices, MACHINE_CGROUP_PARENT), { recursive: true });
    writeFileSync(join(devices, MACHINE_CGROUP_PARENT, 'devices.list'), list);
    return devices;
  };

  it('gets the hierarchy, the parent and the rules as arguments; its text names none of them', () => {
    const { script, args } = closeDeviceList('/host-cgroup/devices');
    expect(args.slice(0, 3)).toEqual(['/host-cgroup/devices', MACHINE_CGROUP_PARENT, 'c *:* m']);
    for (const value of [...args.slice(0, 2), 'c 1:3 rwm', 'c 10:229 rwm']) expect(script).not.toContain(value);
  });

  it('denies everything on an open list, then allows each rule; fails when the list is still open after', () => {
    const devices = hierarchy('a *:* rwm\n');
    const parent = join(devices, MACHINE_CGROUP_PARENT);
    expect(closeIn(devices)).toMatchObject({ status: 4, stdout: `the device list of ${parent} is still open\n` });
    expect(readFileSync(join(parent, 'devices.deny'), 'utf8')).toBe('a\n');
    // each rule overwrites the last here (the kernel's file adds them): the last one, whole
    expect(readFileSync(join(parent, 'devices.allow'), 'utf8')).toBe('c 10:229 rwm\n');
  });

  it('denies what an earlier list allowed and the rules no longer name, and fails while it is still allowed', () => {
    const devices = hierarchy('c 1:3 rwm\nc 1:11 rwm\n');
    const parent = join(devices, MACHINE_CGROUP_PARENT);
    // (a folder does not drop the denied line as the kernel's file would: it is still listed after)
    expect(closeIn(devices)).toMatchObject({ status: 5, stdout: `c 1:11 rwm\nthe device list of ${parent} still allows the devices above\n` });
    expect(readFileSync(join(parent, 'devices.deny'), 'utf8')).toBe('c 1:11 rwm\n');
  });

  it('leaves a closed list alone, and says so when there is no devices hierarchy', () => {
    const devices = hierarchy('c 1:3 rwm\n');
    expect(closeIn(devices).status).toBe(0);
    expect(existsSync(join(devices, MACHINE_CGROUP_PARENT, 'devices.deny'))).toBe(false);
    expect(closeIn(join(devices, 'missing'))).toMatchObject({ status: 3, stdout: 'no devices hierarchy\n' });
  });
});

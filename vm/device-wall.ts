import type Docker from 'dockerode';
import { runHelperContainer, type HelperScript } from './helper-container.ts';

/**
 * The cgroup every machine is made under when the engine uses cgroup v1 with the cgroupfs driver.
 * Root in a machine owns a writable devices cgroup of its own and may add any device to its
 * devices.allow: only the parent's list bounds it, and Docker's parent allows everything. This
 * parent's list is closed to the devices a machine (and the containers nested in it) really use.
 */
export const MACHINE_CGROUP_PARENT = '/hardway';

/** What a machine may open: Docker's default device rules, plus /dev/fuse, /dev/net/tun and mknod of any node (opening one stays refused). The host's /dev/kmsg is not among them: a machine's is /dev/null. */
const MACHINE_DEVICES = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm', // null
  'c 1:5 rwm', // zero
  'c 1:7 rwm', // full
  'c 1:8 rwm', // random
  'c 1:9 rwm', // urandom
  'c 5:0 rwm', // tty
  'c 5:1 rwm', // console
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts
  'c 10:200 rwm', // net/tun
  'c 10:229 rwm', // fuse
];

/** Where the helper sees the host's cgroup hierarchies. */
const HOST_CGROUP = '/host-cgroup';

/**
 * Closes the parent's device list once, from a helper container on the engine itself (so a remote
 * engine's host is set up too). Run while the parent has no machines yet: cgroup v1 refuses to change
 * a list's default once children exist, and then the list is left as it is (closed by an earlier run),
 * except that a device an earlier run allowed and the rules no longer name is denied (that reaches the
 * children at once). $1 is the devices hierarchy, $2 the parent in it, the rest the rules it allows.
 */
const CLOSE_SCRIPT = `
set -e
d=$1$2
[ -d "$1" ] || { echo "no devices hierarchy"; exit 3; }
shift 2
mkdir -p "$d"
if grep -qx 'a \\*:\\* rwm' "$d/devices.list"; then
  echo a > "$d/devices.deny"
  for rule in "$@"; do echo "$rule" > "$d/devices.allow"; done
fi
grep -qx 'a \\*:\\* rwm' "$d/devices.list" && { echo "the device list of $d is still open"; exit 4; }
rules=$(mktemp)
trap 'rm -f "$rules"' EXIT
printf '%s\n' "$@" > "$rules"
grep -vxF -f "$rules" "$d/devices.list" | while read -r rule; do echo "$rule" > "$d/devices.deny"; done
if grep -vxF -f "$rules" "$d/devices.list"; then echo "the device list of $d still allows the devices above"; exit 5; fi
exit 0
`;

/** The helper that closes the device list of the machines' parent in the devices hierarchy at `devices`. */
export const closeDeviceList = (devices: string): HelperScript => ({ script: CLOSE_SCRIPT, args: [devices, MACHINE_CGROUP_PARENT, ...MACHINE_DEVICES] });

/**
 * The CgroupParent for machines on this engine, with its device list closed; undefined where the
 * engine's cgroups are not cgroup v1 with cgroupfs (there Docker's own parent is used: see the README's
 * threat model for what that leaves open).
 */
export async function machineCgroupParent(docker: Docker, helperImage: string): Promise<string | undefined> {
  const info = (await docker.info()) as { CgroupDriver?: string; CgroupVersion?: string };
  if (info.CgroupDriver !== 'cgroupfs' || info.CgroupVersion !== '1') return undefined;
  await runHelperContainer(docker, helperImage, closeDeviceList(`${HOST_CGROUP}/devices`), "closing the machines' device list", { CgroupnsMode: 'host', Binds: [`/sys/fs/cgroup:${HOST_CGROUP}:rw`] } as Docker.HostConfig);
  return MACHINE_CGROUP_PARENT;
}

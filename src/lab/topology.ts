/** The machines of a lab, as in Kubernetes The Hard Way: where the learner works, the control plane, two workers. */
export interface MachineRole {
  name: MachineName;
  /** Last octet of the machine's address on the lab's /24. */
  hostOctet: number;
  worker: boolean;
  description: string;
  /** The systemd units of the course's components on this machine: their journals make the log timeline. */
  units: readonly string[];
}

export const MACHINE_NAMES = ['jumpbox', 'server', 'node-0', 'node-1'] as const;
export type MachineName = (typeof MACHINE_NAMES)[number];

const WORKER_UNITS = ['containerd', 'kubelet', 'kube-proxy'] as const;

/** The one list of machines: everything else (schemas, logs, the page, lab status) derives from it. */
export const MACHINES: readonly MachineRole[] = [
  { name: 'jumpbox', hostOctet: 10, worker: false, description: 'where you work: kubectl, certificates, configs', units: ['docker-registry'] },
  {
    name: 'server',
    hostOctet: 11,
    worker: false,
    description: 'the control plane: etcd, apiserver, controller-manager, scheduler',
    units: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
  },
  { name: 'node-0', hostOctet: 20, worker: true, description: 'a worker: containerd, kubelet, kube-proxy', units: WORKER_UNITS },
  { name: 'node-1', hostOctet: 21, worker: true, description: 'a worker: containerd, kubelet, kube-proxy', units: WORKER_UNITS },
];

/** Add-ons that run as pods: their logs come through the API server, read with the admin kubeconfig on the server. */
export const POD_COMPONENTS: Readonly<Record<string, string>> = { coredns: 'k8s-app=kube-dns' };
export const ADMIN_KUBECONFIG_ON_SERVER = '/root/admin.kubeconfig';

/** Every component whose log the timeline shows. */
export const COMPONENTS: readonly string[] = [...new Set([...MACHINES.flatMap((m) => m.units), ...Object.keys(POD_COMPONENTS)])];

export const DEFAULT_LAB = 'main';

export function machineIp(subnet: string, role: MachineRole): string {
  return subnet.replace(/\.0\/24$/, `.${role.hostOctet}`);
}

export function findMachine(name: string): MachineRole | undefined {
  return MACHINES.find((m) => m.name === name);
}

/** Lab names become container, network and volume names, so keep them to what Docker accepts everywhere. */
export function validLabName(name: string): boolean {
  return /^[a-z0-9][a-z0-9-]{0,30}$/.test(name);
}

/** The machines of a lab, as in Kubernetes The Hard Way: where the learner works, the control plane, two workers. */
export interface MachineRole {
  name: string;
  /** Last octet of the machine's address on the lab's /24. */
  hostOctet: number;
  worker: boolean;
  description: string;
}

export const MACHINES: readonly MachineRole[] = [
  { name: 'jumpbox', hostOctet: 10, worker: false, description: 'where you work: kubectl, certificates, configs' },
  { name: 'server', hostOctet: 11, worker: false, description: 'the control plane: etcd, apiserver, controller-manager, scheduler' },
  { name: 'node-0', hostOctet: 20, worker: true, description: 'a worker: containerd, kubelet, kube-proxy' },
  { name: 'node-1', hostOctet: 21, worker: true, description: 'a worker: containerd, kubelet, kube-proxy' },
];

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

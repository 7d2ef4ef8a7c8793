import type { ExecOptions, MachineProvider, Terminal } from './provider.ts';

/**
 * Where `ssh root@machine` would land: root's home, root's environment, a login shell (so
 * /etc/profile and ~/.profile run, as they do for ssh). The course's prose, checks and solutions
 * all assume it: `cat > machines.txt` must write /root/machines.txt.
 */
export const ROOT_HOME = '/root';

/** Root's environment as a login gives it; PATH comes from /etc/profile, which a login shell reads. */
export const ROOT_ENVIRONMENT: Readonly<Record<string, string>> = {
  HOME: ROOT_HOME,
  USER: 'root',
  LOGNAME: 'root',
  SHELL: '/bin/bash',
};

/** The login shell a learner's terminal runs. */
export const LOGIN_SHELL = ['bash', '-l'];

/** How a command runs when nobody said where: in root's home, with root's environment. */
export function asRoot(options: ExecOptions = {}): ExecOptions {
  return { ...options, workdir: options.workdir ?? ROOT_HOME, env: { ...ROOT_ENVIRONMENT, ...options.env } };
}

/** A root login shell in the machine, as ssh would open it, following the terminal's size. */
export function openLoginShell(provider: MachineProvider, lab: string, machine: string, size: { columns: number; rows: number }): Promise<Terminal> {
  return provider.terminal(lab, machine, LOGIN_SHELL, size, asRoot({ env: { TERM: 'xterm-256color' } }));
}

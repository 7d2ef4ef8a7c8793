import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { withTimeout } from '../src/util/time.ts';
import type { EngineState } from './provider.ts';

export type { EngineState };

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** A client for the Docker engine named by DOCKER_HOST, or the default local socket. */
export function connectEngine(): Docker {
  return new Docker();
}


/** Whether an engine answers, and if not, the most likely reason. */
export async function probeEngine(docker = connectEngine(), timeoutMs = 5000): Promise<EngineState> {
  try {
    const info = (await withTimeout(docker.info(), timeoutMs, 'the Docker engine')) as Record<string, unknown>;
    const version = (await withTimeout(docker.version(), timeoutMs, 'the Docker engine')) as { Version: string; ApiVersion: string };
    return {
      reachable: true,
      version: version.Version,
      apiVersion: version.ApiVersion,
      cgroupDriver: String(info.CgroupDriver ?? 'unknown'),
      cgroupVersion: String(info.CgroupVersion ?? '1'),
    };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    if (process.env.DOCKER_HOST) return { reachable: false, reason: 'unreachable-host', detail };
    if (!existsSync(DEFAULT_SOCKET) && !dockerdInstalled()) {
      return { reachable: false, reason: 'no-engine-installed', detail };
    }
    return { reachable: false, reason: 'not-running', detail };
  }
}

export function dockerdInstalled(): boolean {
  return ['/usr/bin/dockerd', '/usr/local/bin/dockerd', '/usr/sbin/dockerd'].some((path) => existsSync(path));
}

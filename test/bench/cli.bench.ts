// Measures the CPU one `lab` call costs (user + sys, median of 5) next to `kubectl version --client`.
// Prints figures; asserts nothing (target: `lab --help` <= 0.25 s, compiled).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryPath, isCached } from '../../src/artifacts/cache.ts';
import { findComponent, hostPlatform } from '../../src/artifacts/manifest.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LAB = join(ROOT, 'bin', 'lab.js');
const RUNS = 5;

/** CPU seconds (user + sys) of one run of a command, read with the shell's `times` (children's line). */
function cpuSeconds(command: string[], env: NodeJS.ProcessEnv): number {
  const quoted = command.map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = spawnSync('sh', ['-c', `${quoted} >/dev/null 2>&1 || echo "failed: $?" >&2; times`], { encoding: 'utf8', env });
  if (result.stderr.includes('failed')) throw new Error(`${command.join(' ')} failed: ${result.stderr.trim()}`);
  const [, , user, sys] = [...result.stdout.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return user! + sys!;
}

function median(command: string[], env: NodeJS.ProcessEnv = process.env): number {
  cpuSeconds(command, env); // warm-up: file cache, tsx's cache
  const runs = Array.from({ length: RUNS }, () => cpuSeconds(command, env)).sort((a, b) => a - b);
  return runs[Math.floor(RUNS / 2)]!;
}

function kubectl(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const component = findComponent('kubectl');
  return component && isCached(component, hostPlatform()) ? binaryPath(component, 'kubectl', hostPlatform()) : undefined;
}

export async function benchCli(): Promise<void> {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.js'), 'js', '--if-stale'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const state = mkdtempSync(join(tmpdir(), 'hardway-bench-cli-'));
  const env = { ...process.env, HARDWAY_STATE: state, NO_COLOR: '1' };
  try {
    const fmt = (s: number): string => `${s.toFixed(2)} s`;
    const help = median([process.execPath, LAB, '--help'], env);
    const helpTsx = median([process.execPath, LAB, '--help'], { ...env, HARDWAY_FROM_SOURCE: '1' });
    const chapters = median([process.execPath, LAB, 'chapters'], env);
    const kubectlPath = kubectl();
    const kube = kubectlPath ? median([kubectlPath, 'version', '--client'], env) : undefined;
    const versus = kube ? ` (${(help / kube).toFixed(1)}x kubectl)` : '';
    console.log(`cli: lab --help, compiled: ${fmt(help)} CPU${versus} (target <= 0.25 s)`);
    console.log(`cli: lab --help, sources through tsx (a checkout edited since its build): ${fmt(helpTsx)} CPU`);
    console.log(`cli: lab chapters, compiled (loads the course, as lab check does before it reaches a machine): ${fmt(chapters)} CPU`);
    console.log(kube === undefined ? 'cli: kubectl version --client: no kubectl on PATH or in the cache' : `cli: kubectl version --client: ${fmt(kube)} CPU`);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}


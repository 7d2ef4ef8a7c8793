import type { BinariesState, BuildStatus, HostBinaries } from '../../src/artifacts/build-status.ts';
import type { ArtifactSet } from '../../src/artifacts/manifest.ts';

/**
 * The host's binaries for engine tests: a background build that moves only when the test moves it
 * (advance, land, fail), or at once with `instant`. Records every build asked for.
 */
export class FakeBinaries implements HostBinaries {
  /** The sets of every build started, in order. */
  readonly builds: ArtifactSet[][] = [];
  /** What each set lacks until it lands. */
  readonly lacking = new Map<ArtifactSet, string[]>([
    ['course', ['kubernetes v1.34.4', 'etcd v3.6.8']],
    ['upgrade', ['kubernetes v1.35.8']],
  ]);
  status: BuildStatus | null = null;

  constructor(private readonly instant = false) {}

  async state(sets: ArtifactSet[]): Promise<BinariesState> {
    return { missing: sets.flatMap((set) => this.lacking.get(set) ?? []), build: this.status };
  }

  async build(sets: ArtifactSet[]): Promise<void> {
    this.builds.push(sets);
    const components = sets.flatMap((set) => this.lacking.get(set) ?? []);
    this.status = { state: 'building', components, total: 18, position: 0, ready: [], startedAt: Date.now(), updatedAt: Date.now(), log: '/cache/artifacts-build/build.log', pid: 4242 };
    if (this.instant) for (const set of sets) this.land(set);
  }

  /** The build moves on to `binary`, the `position`th of its 18. */
  advance(binary: string, position: number): void {
    this.status = { ...this.status!, position, current: { component: 'kubernetes v1.34.4', binary, source: 'source' } };
  }

  land(set: ArtifactSet): void {
    this.lacking.set(set, []);
    if (this.status) this.status = { ...this.status, state: 'done', position: this.status.total, finishedAt: Date.now() };
  }

  fail(message: string): void {
    this.status = { ...this.status!, state: 'failed', finishedAt: Date.now(), error: { message, next: 'read its log, then: lab artifacts fetch' } };
  }
}

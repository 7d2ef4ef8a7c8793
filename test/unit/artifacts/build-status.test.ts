import { describe, expect, it } from 'vitest';
import { describeBinaries, describeBuild, failedFor, type BuildStatus } from '../../../src/artifacts/build-status.ts';

const building: BuildStatus = {
  state: 'building',
  components: ['kubernetes v1.34.4', 'etcd v3.6.8'],
  total: 18,
  position: 3,
  current: { component: 'kubernetes v1.34.4', binary: 'kube-apiserver', source: 'source', detail: 'building kube-apiserver (1/6) 35 s' },
  ready: [],
  startedAt: 0,
  updatedAt: 0,
  log: '/cache/artifacts-build/build.log',
  pid: 7,
};

describe('what a build of binaries is said to be doing', () => {
  it('names the binary it is on among all it builds, downloads or copies', () => {
    expect(describeBuild(building, 150_000)).toBe('building kube-apiserver (3 of 18), 3 min so far');
    expect(describeBuild({ ...building, current: { ...building.current!, source: 'mirror' } }, 20_000)).toBe('downloading kube-apiserver (3 of 18), 20 s so far');
    expect(describeBuild({ ...building, current: undefined, position: 0 })).toBe('starting a build of kubernetes v1.34.4, etcd v3.6.8');
  });

  it('lab status: a running build with its log; a failed one with its reason, log and what to try; what is still missing', () => {
    expect(describeBinaries({ missing: ['kubernetes v1.34.4'], build: building }, 60_000)).toEqual(['building kube-apiserver (3 of 18), 1 min so far', 'its log: /cache/artifacts-build/build.log']);
    const failed: BuildStatus = { ...building, state: 'failed', finishedAt: 60_000, error: { message: 'go build failed (exit 1): killed', next: 'lab artifacts fetch' } };
    expect(describeBinaries({ missing: ['kubernetes v1.34.4'], build: failed })).toEqual([
      'the build of kubernetes v1.34.4, etcd v3.6.8 failed: go build failed (exit 1): killed',
      'its log: /cache/artifacts-build/build.log',
      'next: lab artifacts fetch',
      expect.stringMatching(/^not in the cache yet: kubernetes v1\.34\.4 \(a lab builds them/),
    ]);
    const done: BuildStatus = { ...building, state: 'done', position: 18, finishedAt: 540_000 };
    expect(describeBinaries({ missing: ['kubernetes v1.35.8'], build: done })).toEqual(['kubernetes v1.34.4, etcd v3.6.8 ready (18 binaries in 9 min)', expect.stringMatching(/^not in the cache yet: kubernetes v1\.35\.8/)]);
    expect(describeBinaries({ missing: [], build: null })).toEqual(['every binary the labs need is in the cache']);
  });

  it('a failed build stops a wait only for what it was building', () => {
    const failed: BuildStatus = { ...building, state: 'failed' };
    expect(failedFor(failed, ['etcd v3.6.8'])).toBe(true);
    expect(failedFor(failed, ['kubernetes v1.35.8'])).toBe(false);
    expect(failedFor(building, ['etcd v3.6.8'])).toBe(false);
    expect(failedFor(null, ['etcd v3.6.8'])).toBe(false);
  });
});

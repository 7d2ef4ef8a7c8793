import { chmodSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildOf, describeEmpty, emptyCache, graded, removeCache } from '../../bench/first-run.bench.ts';

describe('the first-run bench\'s pieces', () => {
  it('an empty cache keeps only the host\'s Go module cache, linked; removing it leaves the host\'s modules alone', () => {
    const host = mkdtempSync(join(tmpdir(), 'hardway-host-cache-'));
    mkdirSync(join(host, 'go', 'mod', 'example.com@v1'), { recursive: true });
    writeFileSync(join(host, 'go', 'mod', 'example.com@v1', 'go.mod'), 'module example.com\n');
    const cache = emptyCache(host);
    expect(cache.modules).toBe(join(host, 'go', 'mod'));
    expect(readlinkSync(join(cache.dir, 'go', 'mod'))).toBe(join(host, 'go', 'mod'));
    expect(existsSync(join(cache.dir, 'artifacts'))).toBe(false);
    expect(describeEmpty(cache, 'source')[1]).toMatch(/the Go module cache \(GOMODCACHE\) is the host's, linked in/);
    // what the build leaves: Go's read-only module files of its own, a build cache
    mkdirSync(join(cache.dir, 'go', 'build', 'ab'), { recursive: true });
    chmodSync(join(cache.dir, 'go', 'build', 'ab'), 0o555);
    removeCache(cache);
    expect(existsSync(cache.dir)).toBe(false);
    expect(existsSync(join(host, 'go', 'mod', 'example.com@v1', 'go.mod'))).toBe(true);
  });

  it('says when the modules are downloaded too, and reads the build\'s status from its own cache', () => {
    const cache = emptyCache(mkdtempSync(join(tmpdir(), 'hardway-host-cache-')));
    expect(cache.modules).toBeNull();
    expect(describeEmpty(cache, 'source')[1]).toBe('the host has no Go module cache: the modules are downloaded too');
    expect(buildOf(cache)).toBeNull();
    mkdirSync(join(cache.dir, 'artifacts-build'));
    writeFileSync(join(cache.dir, 'artifacts-build', 'status.json'), JSON.stringify({ state: 'done', pid: 1 }));
    expect(buildOf(cache)?.state).toBe('done');
    removeCache(cache);
  });

  it('a check graded (passed or not) is told from one that failed before grading', () => {
    expect(graded({ code: 1, stdout: '✗ Write the machine database\n  /root/machines.txt is missing\n', stderr: 'error: not yet\n' })).toBe(true);
    expect(graded({ code: 0, stdout: '✓ Write the machine database\n', stderr: '' })).toBe(true);
    expect(graded({ code: 1, stdout: '', stderr: 'error: the binaries are not there: the build of kubernetes v1.34.4 failed\n' })).toBe(false);
  });
});

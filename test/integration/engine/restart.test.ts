import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerProvider } from '../../../vm/docker-provider.ts';
import { checkHealth, loadHealth } from '../../../src/engine/faults.ts';
import { loadCourse } from '../../../src/engine/course.ts';
import { startEngine } from '../../../src/host/setup.ts';
import { startServer, type RunningServer } from '../../../src/web/server.ts';
import { ensureArtifacts } from '../../helpers/artifacts.ts';
import { lab } from '../../helpers/cli.ts';
import { ensureEngine, realLab, stopEngine } from '../../helpers/engine.ts';

const LAB = `it-reboot-${process.pid.toString(36)}`;
const STATE = mkdtempSync(join(tmpdir(), 'hardway-reboot-state-'));
const LAST = Math.max(...loadCourse().map((c) => c.number));

describe('a lab survives a dockerd restart (a learner\'s laptop rebooting)', () => {
  const provider = new DockerProvider();
  let server: RunningServer | undefined;

  beforeAll(async () => {
    process.env.HARDWAY_STATE = STATE;
    await ensureEngine();
    await ensureArtifacts();
    await realLab(LAB, provider).up(LAST);
  }, 1_200_000);

  afterAll(async () => {
    await server?.close();
    await ensureEngine();
    await provider.deleteLab(LAB);
  });

  it('lab serve keeps answering while the engine is gone, and one lab up <last> brings the cluster back healthy', { timeout: 900_000 }, async () => {
    const ui = mkdtempSync(join(tmpdir(), 'hardway-ui-'));
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>lab</title>');
    server = await startServer({ engine: realLab(LAB, provider), host: '127.0.0.1', port: 0, uiDir: ui });
    const auth = { headers: { Authorization: `Bearer ${server.token}` } };

    await stopEngine();
    const whileDown = await fetch(`http://127.0.0.1:${server.port}/api/state`, auth);
    expect(whileDown.status).toBeGreaterThanOrEqual(500);
    expect(((await whileDown.json()) as { error: string }).error).toBeTruthy();
    await startEngine();
    expect((await fetch(`http://127.0.0.1:${server.port}/api/state`, auth)).status).toBe(200);
    expect((await provider.list(LAB)).every((m) => m.state === 'stopped')).toBe(true);

    const up = lab(['up', String(LAST), '--lab', LAB], { HARDWAY_STATE: STATE }, 900_000);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/restarted: jumpbox, server, node-0, node-1|restarted: /);
    expect(up.stderr).toMatch(/recovering after a restart/);
    const healthy = await checkHealth(provider, LAB, loadHealth());
    expect(healthy.failures.map((f) => `${f.check.fail} ${f.output}`)).toEqual([]);
  });
});

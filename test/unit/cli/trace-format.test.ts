import { describe, expect, it } from 'vitest';
import { formatTraceEntry, formatTraceHeader } from '../../../src/cli/commands/trace.ts';
import type { Trace, TraceEntry } from '../../../src/trace/model.ts';

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const entry: TraceEntry = {
  time: Date.parse('2026-12-01T06:57:19.571Z'),
  actor: 'kube-scheduler',
  source: 'audit',
  verb: 'bind',
  object: 'Pod default/web-ff44d897b-xwjsm',
  summary: 'bound Pod web-ff44d897b-xwjsm to node-1',
  problem: false,
  raw: '{"auditID":"x"}',
};

describe('lab trace lines', () => {
  it('time, lane, kind of record and what happened; --raw puts the record under it', () => {
    expect(strip(formatTraceEntry(entry, ['kube-scheduler'], false))).toBe('06:57:19.571 kube-scheduler           wrote bound Pod web-ff44d897b-xwjsm to node-1');
    expect(strip(formatTraceEntry(entry, ['kube-scheduler'], true)).split('\n')).toEqual([expect.stringContaining('bound Pod'), '      {"auditID":"x"}']);
  });

  it('an entry known only to its second shows no milliseconds it does not know', () => {
    const event: TraceEntry = { ...entry, time: Date.parse('2026-12-01T06:57:19Z'), wholeSecond: true, source: 'event', verb: 'Pulled', summary: 'Pulled: image' };
    expect(strip(formatTraceEntry(event, ['kube-scheduler'], false))).toBe('06:57:19     kube-scheduler           event Pulled: image');
  });

  it('the header names the objects joined, those since deleted, and the lanes', () => {
    const trace: Trace = {
      target: { kind: 'deployment', name: 'web', namespace: 'default' },
      objects: [{ kind: 'Deployment', name: 'web', namespace: 'default', exists: true }, { kind: 'Pod', name: 'web-1', namespace: 'default', exists: false }],
      lanes: ['kubectl (admin)', 'kube-apiserver'],
      entries: [],
      unreadable: [],
    };
    expect(strip(formatTraceHeader(trace))).toBe('deployment/web in default: Deployment web, Pod web-1 (gone)\nlanes: kubectl (admin) · kube-apiserver');
  });
});

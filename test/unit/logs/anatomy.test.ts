import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatEntry } from '../../../src/cli/commands/logs.ts';
import { anatomyOf } from '../../../src/logs/anatomy.ts';
import { SEVERITIES, type LogEntry } from '../../../src/logs/parse.ts';

const entry = (over: Partial<LogEntry>): LogEntry => ({ time: Date.parse('2026-12-01T06:00:00.250Z'), machine: 'node-0', component: 'kubelet', severity: 'info', message: 'hello', raw: 'hello', ...over });
// As `lab logs` prints it; picocolors colours it only where CI is set, so the colours are taken off here.
const printed = (e: LogEntry, raw = false) => stripVTControlCharacters(formatEntry(e, raw));
const fieldsOf = (line: string) => Object.fromEntries(anatomyOf(line).fields.map((f) => [f.name, f.value]));

describe('hardway\'s timeline, read back', () => {
  it('names the time, machine, component, severity and message of every line lab logs prints', () => {
    for (const severity of SEVERITIES) {
      const line = printed(entry({ severity, message: '"Failed to update lease" err="connection refused" (controller.go:145)' }));
      expect(anatomyOf(line).format).toBe('hardway\'s timeline');
      expect(fieldsOf(line)).toEqual({ time: '06:00:00.250', machine: 'node-0', component: 'kubelet', severity: severity.toUpperCase(), message: '"Failed to update lease" err="connection refused" (controller.go:145)' });
    }
  });

  it('reads the widest component, an add-on pod\'s cut machine name, and hands on the message with whose it is', () => {
    const controller = anatomyOf(printed(entry({ machine: 'server', component: 'kube-controller-manager', severity: 'warn', message: 'x  y' })));
    expect(controller.carries).toEqual({ component: 'kube-controller-manager', message: 'x  y' });
    expect(fieldsOf(printed(entry({ machine: 'coredns-8647d8b4bd-cjdpj', component: 'coredns', message: '[INFO] plugin/reload: Running configuration' })))).toMatchObject({ machine: 'coredns-86', component: 'coredns' });
  });

  it('is not mistaken for the formats the components write', () => {
    expect(anatomyOf('E1201 06:00:00.250000     440 controller.go:145] "Failed to update lease" err="connection refused"').format).toBe('klog');
    expect(anatomyOf('06:00:00 node-0 kubelet hello').format).toBe('unknown');
  });
});

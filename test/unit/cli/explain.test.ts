import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { explainLine } from '../../../src/cli/commands/explain.ts';
import { formatEntry } from '../../../src/cli/commands/logs.ts';
import { loadCatalog } from '../../../src/logs/catalog.ts';
import type { LogEntry } from '../../../src/logs/parse.ts';

const catalog = loadCatalog();
const explained = (line: string) => stripVTControlCharacters(explainLine(line, catalog).join('\n'));
const leaseMeans = catalog.messages.find((m) => m.component === 'kubelet' && m.pattern?.includes('Failed to update lease'))!.means;

// The kubelet losing its API server, as its journal has it and as `lab logs` (and `lab logs --raw`) print it.
const raw = 'E1201 06:00:00.250431     440 controller.go:145] "Failed to update lease" err="connection refused"';
const lease: LogEntry = { time: Date.parse('2026-12-01T06:00:00.250Z'), machine: 'node-0', component: 'kubelet', severity: 'error', message: '"Failed to update lease" err="connection refused" (controller.go:145)', raw };
// The same line in a terminal's colours, as picocolors writes them.
const coloured = '\u001b[2m06:00:00.250\u001b[22m \u001b[37mnode-0     kubelet                \u001b[39m \u001b[31mERROR\u001b[39m "Failed to update lease" err="connection refused" (controller.go:145)';

describe('lab explain', () => {
  it('reads a line as lab logs prints it, and explains its message with the catalog\'s meaning', () => {
    const text = explained(stripVTControlCharacters(formatEntry(lease, false)));
    expect(text).toMatch(/^format: hardway's timeline/);
    expect(text).toMatch(/component +kubelet/);
    expect(text).toMatch(/severity +ERROR/);
    expect(text).toContain('known message of kubelet:');
    expect(text).toContain(`means: ${leaseMeans}`);
  });

  it('reads it with its colours too', () => {
    expect(stripVTControlCharacters(formatEntry(lease, false))).toBe(stripVTControlCharacters(coloured));
    const text = explained(coloured);
    expect(text).toMatch(/^format: hardway's timeline/);
    expect(text).toContain(`means: ${leaseMeans}`);
  });

  it('names the fields of the component\'s own line inside a lab logs --raw line', () => {
    const text = explained(stripVTControlCharacters(formatEntry(lease, true)));
    expect(text).toMatch(/the message: klog, as kubelet wrote it/);
    expect(text).toMatch(/pid +440/);
    expect(text).toContain(`means: ${leaseMeans}`);
  });

  it('looks the message up under the component the line names', () => {
    const text = explained(stripVTControlCharacters(formatEntry({ ...lease, component: 'containerd' }, false)));
    expect(text).toMatch(/component +containerd/);
    expect(text).toContain('does not know this message yet');
  });

  it('still explains a line as the component wrote it', () => {
    const text = explained(raw);
    expect(text).toMatch(/^format: klog/);
    expect(text).toContain(`means: ${leaseMeans}`);
  });
});

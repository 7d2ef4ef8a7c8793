import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatEntry } from '../../../src/cli/commands/logs.ts';
import { loadCatalog } from '../../../src/logs/catalog.ts';
import type { LogEntry } from '../../../src/logs/parse.ts';

// picocolors colours output whenever CI is set, so the lines are compared without their colour codes.
const plain = (...args: Parameters<typeof formatEntry>): string => stripVTControlCharacters(formatEntry(...args));

const entry = (component: string, message: string): LogEntry => ({ time: Date.parse('2026-12-01T06:00:00Z'), machine: 'node-0', component, severity: 'error', message, raw: message });

describe('lab logs lines', () => {
  const catalog = loadCatalog();

  it('--explain puts what a catalogued message means, and whether this lab expects it, under the line', () => {
    const noise = entry('kubelet', '"Failed to set rlimit on max file handles" err="operation not permitted"');
    const lines = plain(noise, false, catalog.lookup(noise), true).split('\n');
    expect(lines[0]).toMatch(/06:00:00\.000 node-0 +kubelet +ERROR "Failed to set rlimit/);
    expect(lines.slice(1).join('\n')).toMatch(/means: .*open files[\s\S]*expected here: .*CAP_SYS_RESOURCE/);
  });

  it('a message that matters says where to look next; an unknown one is printed alone', () => {
    const lease = entry('kubelet', '"Failed to update lease" err="connection refused"');
    expect(plain(lease, false, catalog.lookup(lease), true)).toMatch(/not expected in a healthy lab\n.*next: /);
    const unknown = entry('kubelet', 'a line nobody knows');
    expect(plain(unknown, false, catalog.lookup(unknown), true).split('\n')).toHaveLength(1);
  });
});

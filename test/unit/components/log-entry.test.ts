import { describe, expect, it } from 'vitest';
import type { TemplateResult } from 'lit';
import { logEntry } from '../../../components/log-entry.ts';
import type { LogLine } from '../../../components/api.ts';

const line: LogLine = { time: Date.parse('2026-12-01T06:00:00.250Z'), machine: 'node-0', component: 'kubelet', severity: 'error', message: '"Failed to update lease" err="connection refused"', raw: '' };

/** The text the browser shows for a template: its static parts and values in order, tags (and the attributes in them) taken out. */
function shownText(template: TemplateResult): string {
  const html = template.strings.reduce((text, part, i) => text + part + (i < template.values.length ? String(template.values[i]) : ''), '');
  return html.replace(/<[^>]*>/g, '');
}

describe('a log timeline entry', () => {
  it('is one line: time, machine, component, severity and message, one space apart, nothing before the time', () => {
    expect(shownText(logEntry(line, '#59c2ff'))).toBe('06:00:00.250 node-0 kubelet ERROR "Failed to update lease" err="connection refused"');
  });

  it('adds no line break or indent of its own around the columns', () => {
    const { strings } = logEntry(line, '#59c2ff');
    expect(strings[0]).toMatch(/^<span class="time">/);
    expect(strings.at(-1)).toBe('</span>');
    expect(strings.join('')).not.toMatch(/\n|  /);
  });

  it('keeps a message\'s own line breaks, as a joined stack trace has them', () => {
    expect(shownText(logEntry({ ...line, message: 'panic: x\ngoroutine 1 [running]:' }, '#59c2ff'))).toMatch(/ERROR panic: x\ngoroutine 1 \[running\]:$/);
  });
});

import { html, type TemplateResult } from 'lit';
import type { LogLine } from './api.ts';

/**
 * One timeline entry as one line, in the columns `lab logs` prints: time, machine, component,
 * severity, message. The template holds no whitespace of its own beyond one space between columns:
 * the message keeps its line breaks (a joined stack trace), so any newline or indent here would show.
 */
export function logEntry(line: LogLine, colour: string): TemplateResult {
  return html`<span class="time">${new Date(line.time).toISOString().slice(11, 23)}</span> <span class="machine" title=${line.machine}>${line.machine}</span> <span class="component" style="color: ${colour}">${line.component}</span> <span class="severity">${line.severity.toUpperCase()}</span> <span class="message">${line.message}</span>`;
}

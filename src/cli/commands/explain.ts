import { stripVTControlCharacters } from 'node:util';
import type { Command } from 'commander';
import pc from 'picocolors';
import { say } from '../../util/output.ts';
import { anatomyOf, UNKNOWN_FORMAT, type Field } from '../../logs/anatomy.ts';
import type { Catalog, KnownMessage } from '../../logs/catalog.ts';

/** The catalog's word on a message, as lab explain and lab logs --explain print it. */
export function formatKnown(known: KnownMessage, indent = ''): string[] {
  const lines = [`${indent}${pc.bold('means:')} ${known.means}`];
  lines.push(known.expected ? `${indent}${pc.bold('expected here:')} ${known.why}` : `${indent}${pc.bold('not expected in a healthy lab')}`);
  if (known.next) lines.push(`${indent}${pc.bold('next:')} ${known.next}`);
  return lines;
}

function formatFields(fields: Field[]): string[] {
  const width = Math.max(...fields.map((f) => f.name.length));
  return fields.map((field) => `  ${pc.cyan(field.name.padEnd(width))}  ${field.value}\n  ${' '.repeat(width)}  ${pc.dim(field.means)}`);
}

/**
 * What lab explain prints for a pasted line: its format and fields; for a line of hardway's own
 * timeline (coloured or not), the component's message inside it, read as that component's line;
 * then the catalog's word on it.
 */
export function explainLine(pasted: string, catalog: Catalog): string[] {
  const line = stripVTControlCharacters(pasted);
  const anatomy = anatomyOf(line);
  const lines = [`${pc.bold('format:')} ${anatomy.format} — written by ${anatomy.writers}`, ...formatFields(anatomy.fields)];
  const carried = anatomy.carries;
  if (carried) {
    // `lab logs --raw` shows the line as the component wrote it: its own format then has fields to name.
    const inner = anatomyOf(carried.message);
    if (inner.format !== UNKNOWN_FORMAT) lines.push(`${pc.bold('the message:')} ${inner.format}, as ${carried.component} wrote it`, ...formatFields(inner.fields));
  }
  const known = catalog.lookup(carried ? { component: carried.component, message: carried.message, raw: carried.message } : { message: line, raw: line });
  if (!known) return [...lines, pc.dim('hardway\'s catalog (labs/logs/) does not know this message yet.')];
  return [...lines, `${pc.bold('known message')} of ${known.component}:`, ...formatKnown(known, '  ')];
}

export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description('name the format and fields of a pasted log line (a lab logs line too), and say what it means if hardway knows it')
    .argument('<line...>', 'the log line (quote it)')
    .action(async (words: string[]) => {
      const [{ loadCatalog }, { explainingLabFileErrors }] = await Promise.all([import('../../logs/catalog.ts'), import('../../engine/session.ts')]);
      for (const text of explainLine(words.join(' '), explainingLabFileErrors(() => loadCatalog()))) say(text);
    });
}

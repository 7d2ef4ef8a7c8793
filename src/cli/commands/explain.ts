import type { Command } from 'commander';
import pc from 'picocolors';
import { say } from '../../util/output.ts';
import type { KnownMessage } from '../../logs/catalog.ts';

/** The catalog's word on a message, as lab explain and lab logs --explain print it. */
export function formatKnown(known: KnownMessage, indent = ''): string[] {
  const lines = [`${indent}${pc.bold('means:')} ${known.means}`];
  lines.push(known.expected ? `${indent}${pc.bold('expected here:')} ${known.why}` : `${indent}${pc.bold('not expected in a healthy lab')}`);
  if (known.next) lines.push(`${indent}${pc.bold('next:')} ${known.next}`);
  return lines;
}

export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description('name the format and fields of a pasted log line, and say what it means if hardway knows it')
    .argument('<line...>', 'the log line (quote it)')
    .action(async (words: string[]) => {
      const [{ anatomyOf }, { loadCatalog }, { explainingLabFileErrors }] = await Promise.all([import('../../logs/anatomy.ts'), import('../../logs/catalog.ts'), import('../../engine/session.ts')]);
      const line = words.join(' ');
      const anatomy = anatomyOf(line);
      say(`${pc.bold('format:')} ${anatomy.format} — written by ${anatomy.writers}`);
      const width = Math.max(...anatomy.fields.map((f) => f.name.length));
      for (const field of anatomy.fields) say(`  ${pc.cyan(field.name.padEnd(width))}  ${field.value}\n  ${' '.repeat(width)}  ${pc.dim(field.means)}`);
      const known = explainingLabFileErrors(() => loadCatalog()).lookup({ message: line, raw: line });
      if (known) {
        say(`${pc.bold('known message')} of ${known.component}:`);
        for (const text of formatKnown(known, '  ')) say(text);
      } else {
        say(pc.dim('hardway\'s catalog (labs/logs/) does not know this message yet.'));
      }
    });
}

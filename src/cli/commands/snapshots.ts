import type { Command } from 'commander';
import pc from 'picocolors';
import { say } from '../../util/output.ts';
import { labFlag, labOption, openLab } from '../context.ts';

export const formatBytes = (bytes: number): string => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${Math.round(bytes / 1e6)} MB`);

export function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}

export function registerSnapshotCommands(program: Command): void {
  program
    .command('snapshot')
    .description('keep the lab as a snapshot at the end of its last complete chapter; lab up starts new labs from it')
    .addOption(labOption())
    .action(async (options: { lab: string }) => {
      const engine = await openLab(options.lab);
      const snapshot = await engine.snapshot();
      say(`Kept chapters 1-${snapshot.chapter} as snapshot ${snapshot.id} (${formatBytes(snapshot.sizeBytes)}).`);
      say(`A new lab starts from it with: lab up ${Math.min(snapshot.chapter + 1, engine.lastChapter)} --lab <name>`);
    });

  const snapshots = program.command('snapshots').description('the snapshots new labs start from');
  snapshots
    .command('list', { isDefault: true })
    .description('every snapshot with its chapter, size and age, and whether the course can still use it')
    .action(async () => {
      const engine = await openLab('main');
      const listing = await engine.snapshots();
      if (listing.length === 0) return say(`No snapshots. Keep one with: lab snapshot${labFlag(engine.lab)}`);
      say(pc.bold(['SNAPSHOT'.padEnd(34), 'CHAPTERS'.padEnd(9), 'SIZE'.padEnd(9), 'AGE'.padEnd(8), 'FROM LAB'.padEnd(14), 'USABLE'].join(' ')));
      for (const { snapshot, usable } of listing) {
        const state = usable ? pc.green('yes') : pc.yellow('no: the course, binaries or machine image changed since');
        say([snapshot.id.padEnd(34), `1-${snapshot.chapter}`.padEnd(9), formatBytes(snapshot.sizeBytes).padEnd(9), formatAge(Date.now() - snapshot.createdMs).padEnd(8), snapshot.lab.padEnd(14), state].join(' '));
      }
    });
  snapshots
    .command('prune')
    .description('remove the snapshots the course can no longer use and older copies of the rest (--all: every one)')
    .option('--all', 'remove every snapshot')
    .action(async (options: { all?: boolean }) => {
      const engine = await openLab('main');
      const removed = await engine.pruneSnapshots(Boolean(options.all));
      const freed = removed.reduce((sum, s) => sum + s.sizeBytes, 0);
      say(removed.length === 0 ? 'Nothing to remove.' : `Removed ${removed.length} snapshot(s), ${formatBytes(freed)}: ${removed.map((s) => s.id).join(', ')}`);
    });
}

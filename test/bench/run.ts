// `npm run bench`: prints speed and memory figures. Figures, not pass/fail: targets live in the text.
// `npm run bench -- cli chapters` runs only those.
import { benchCapacity } from './capacity.bench.ts';
import { benchChapters } from './chapters.bench.ts';
import { benchCli } from './cli.bench.ts';
import { benchFirstRun } from './first-run.bench.ts';
import { benchMachines } from './machines.bench.ts';
import { benchSnapshots } from './snapshots.bench.ts';
import { benchTrace } from './trace.bench.ts';

const BENCHES: Record<string, () => Promise<void>> = { machines: benchMachines, chapters: benchChapters, cli: benchCli, snapshots: benchSnapshots, trace: benchTrace, capacity: benchCapacity, 'first-run': benchFirstRun };
// Only when named: it builds the course's binaries from source with empty caches (about half an hour).
const ON_REQUEST = ['first-run'];
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(name in BENCHES));
if (unknown.length > 0) throw new Error(`no bench called ${unknown.join(', ')}: pick from ${Object.keys(BENCHES).join(', ')}`);
for (const name of chosen.length > 0 ? chosen : Object.keys(BENCHES).filter((n) => !ON_REQUEST.includes(n))) await BENCHES[name]!();

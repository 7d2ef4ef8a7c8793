// `npm run bench`: prints speed and memory figures. Figures, not pass/fail: targets live in the text.
import { benchChapters } from './chapters.bench.ts';
import { benchMachines } from './machines.bench.ts';

await benchMachines();
await benchChapters();

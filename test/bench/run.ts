// `npm run bench`: prints speed and memory figures. Figures, not pass/fail: targets live in the text.
import { benchMachines } from './machines.bench.ts';

await benchMachines();

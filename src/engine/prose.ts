import MarkdownIt from 'markdown-it';
import { MACHINE_NAMES, type MachineName } from '../lab/topology.ts';

/**
 * Where a block of commands in a chapter's prose is meant to be typed. The fence's info string
 * says it after the language: ```` ```bash ```` is typed into the terminal of the step's machine
 * (wherever that terminal's `ssh root@X` has taken it); ```` ```bash server ```` into the server's
 * terminal; ```` ```bash second-shell ```` into a second terminal kept open beside the first (for
 * watches that run until Ctrl-C); ```` ```bash host ```` on the learner's own computer (the `lab`
 * command), never into a machine.
 */
export type BlockPlace = 'terminal' | 'second-shell' | 'host';

export interface CommandBlock {
  code: string;
  place: BlockPlace;
  /** The machine whose terminal it is typed into, when the block names one (else the step's machine). */
  machine?: MachineName;
  /** The block's first line in the prose it was read from (0-based, as markdown-it counts). */
  line: number;
}

export interface FenceInfo {
  commands: boolean;
  place: BlockPlace;
  machine?: MachineName;
  /** Words after the language this course does not know. */
  unknown: string[];
}

const COMMAND_LANGUAGES = new Set(['bash', 'sh', 'shell']);
const PLACES: Record<string, BlockPlace> = { 'second-shell': 'second-shell', host: 'host' };
const isMachine = (word: string): word is MachineName => (MACHINE_NAMES as readonly string[]).includes(word);

const markdown = new MarkdownIt({ html: false });

/** A fence's info string read: whether it holds commands, where they go, and any word not understood. */
export function readFenceInfo(info: string): FenceInfo {
  const [language = '', ...words] = info.trim().split(/\s+/);
  const commands = COMMAND_LANGUAGES.has(language);
  if (!commands) return { commands, place: 'terminal', unknown: [] };
  const places = words.filter((w) => w in PLACES);
  const machines = words.filter(isMachine);
  const unknown = [...words.filter((w) => !(w in PLACES) && !isMachine(w)), ...places.slice(1), ...machines.slice(1)];
  if (places[0] === 'host' && machines.length > 0) unknown.push(...machines.slice(0, 1));
  const place = places[0] ? PLACES[places[0]]! : 'terminal';
  return { commands, place, ...(machines[0] && place !== 'host' ? { machine: machines[0] } : {}), unknown };
}

/** Every block of commands in a piece of prose, in the order a learner meets them (sample output excluded). */
export function commandBlocks(prose: string): CommandBlock[] {
  return markdown
    .parse(prose, {})
    .filter((token) => token.type === 'fence')
    .flatMap((token) => {
      const { commands, place, machine } = readFenceInfo(token.info);
      return commands ? [{ code: token.content, place, ...(machine ? { machine } : {}), line: token.map?.[0] ?? 0 }] : [];
    });
}

/** Fences whose info string has words this course does not know, with their line (1-based), for a file:line error. */
export function unknownFenceWords(document: string): { line: number; words: string[] }[] {
  return markdown
    .parse(document, {})
    .filter((token) => token.type === 'fence')
    .map((token) => ({ line: (token.map?.[0] ?? 0) + 1, words: readFenceInfo(token.info).unknown }))
    .filter((found) => found.words.length > 0);
}

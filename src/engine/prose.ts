import MarkdownIt from 'markdown-it';

/**
 * Where a block of commands in a chapter's prose is meant to be typed. The fence's info string
 * says it after the language: ```` ```bash ```` is typed into the learner's terminal (the
 * jumpbox's, or wherever its `ssh root@X` took it); ```` ```bash second-shell ```` into a second
 * terminal kept open beside it (for watches that run until Ctrl-C); ```` ```bash host ```` on the
 * learner's own computer (the `lab` command), never into a machine.
 */
export type BlockPlace = 'terminal' | 'second-shell' | 'host';

export interface CommandBlock {
  code: string;
  place: BlockPlace;
  /** The block's first line in the prose it was read from (0-based, as markdown-it counts). */
  line: number;
}

const COMMAND_LANGUAGES = new Set(['bash', 'sh', 'shell']);
const PLACES: Record<string, BlockPlace> = { 'second-shell': 'second-shell', host: 'host' };

const markdown = new MarkdownIt({ html: false });

/** A fence's info string read: whether it holds commands, where they go, and any word not understood. */
export function readFenceInfo(info: string): { commands: boolean; place: BlockPlace; unknown: string[] } {
  const [language = '', ...words] = info.trim().split(/\s+/);
  const commands = COMMAND_LANGUAGES.has(language);
  const places = words.filter((w) => w in PLACES).map((w) => PLACES[w]!);
  const unknown = commands ? words.filter((w) => !(w in PLACES)) : [];
  if (places.length > 1) unknown.push(...words.filter((w) => w in PLACES).slice(1));
  return { commands, place: places[0] ?? 'terminal', unknown };
}

/** Every block of commands in a piece of prose, in the order a learner meets them (sample output excluded). */
export function commandBlocks(prose: string): CommandBlock[] {
  return markdown
    .parse(prose, {})
    .filter((token) => token.type === 'fence' && readFenceInfo(token.info).commands)
    .map((token) => ({ code: token.content, place: readFenceInfo(token.info).place, line: token.map?.[0] ?? 0 }));
}

/** Fences whose info string has words this course does not know, with their line (1-based), for a file:line error. */
export function unknownFenceWords(document: string): { line: number; words: string[] }[] {
  return markdown
    .parse(document, {})
    .filter((token) => token.type === 'fence')
    .map((token) => ({ line: (token.map?.[0] ?? 0) + 1, words: readFenceInfo(token.info).unknown }))
    .filter((found) => found.words.length > 0);
}

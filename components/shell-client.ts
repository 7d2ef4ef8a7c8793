/** Which of a machine's shells a terminal is: the first, or the second kept open beside it for watches. */
export type Shell = 1 | 2;

/**
 * The client id the server keeps a terminal's shell under (with the machine): the tab's own id, the
 * lab's generation when it has one (a replaced lab gets new shells), and for a second shell `.shell2`,
 * a suffix no first shell's id ends with (theirs end in the tab's id or `.<generation>`).
 */
export function shellClientId(client: string, generation: number, shell: Shell): string {
  const first = generation ? `${client}.${generation}` : client;
  return shell === 1 ? first : `${first}.shell${shell}`;
}

/** Closed by the server's limits (too many terminals, or opened too fast): the reason says when to try again. */
export const CLOSE_LIMITED = 4003;

/** How long a terminal refused by the limits waits before it tries again: the "try again in N s" of its reason, else 10 s. */
export function limitedRetryMs(reason: string): number {
  const seconds = Number(/try again in (\d+) s/.exec(reason)?.[1]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000;
}

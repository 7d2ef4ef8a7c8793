/** An error meant for the learner: one sentence saying what is wrong, and the next thing to try. */
export class LabError extends Error {
  constructor(
    message: string,
    readonly next?: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

/** Exit code for a command line the CLI could not understand. */
export const USAGE_EXIT_CODE = 2;

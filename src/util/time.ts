/** Rejects with "<what> did not finish within N s" when the promise takes longer than ms (no limit when ms is 0/undefined). */
export function withTimeout<T>(promise: Promise<T>, ms: number | undefined, what: string): Promise<T> {
  if (!ms) return promise;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `attempt` until `done` says its result is final or time runs out; returns the last result. */
export async function pollUntil<T>(attempt: () => Promise<T>, done: (result: T) => boolean, timeoutMs: number, intervalMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let result = await attempt();
  while (!done(result) && Date.now() < deadline) {
    await sleep(intervalMs);
    result = await attempt();
  }
  return result;
}

/**
 * How much longer than the defaults checks, solutions and fault fixes may take. The defaults are
 * measured on 2 shared cores; a slower host (a VM under software emulation runs 5–10× slower) sets
 * HARDWAY_TIME_SCALE, e.g. 3. Invalid or smaller-than-1 values are ignored.
 */
export function timeScale(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.HARDWAY_TIME_SCALE);
  return Number.isFinite(value) && value >= 1 ? value : 1;
}

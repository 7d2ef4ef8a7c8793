import type { ExecOptions, ExecResult } from './provider.ts';

/** Runs one command where the scripts are to run (a machine, or its grader). */
export type ExecCommand = (command: string[], options: ExecOptions) => Promise<ExecResult>;

/** What one script of a batch did. */
export interface ScriptResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** It ran out of its time and was stopped. */
  timedOut: boolean;
}

/**
 * Runs in the machine: each script (the arguments after the time limit) in its own bash under
 * coreutils' timeout, all at once, then one line per script: its index, exit code, and its standard
 * output and error in base64 (so no output can be mistaken for the next line).
 */
const BATCH = `
limit=$1; shift
dir=$(mktemp -d /tmp/hardway-batch.XXXXXX) || exit 97
trap 'rm -rf "$dir"' EXIT
n=0
for script in "$@"; do
  timeout --kill-after=2 "$limit" bash -c "$script" >"$dir/$n.out" 2>"$dir/$n.err" </dev/null &
  pids[n]=$!
  n=$((n + 1))
done
for ((i = 0; i < n; i++)); do
  wait "\${pids[i]}"; code=$?
  printf '%s %s %s %s\\n' "$i" "$code" "$(base64 -w0 <"$dir/$i.out")" "$(base64 -w0 <"$dir/$i.err")"
done
`;

const decode = (field: string | undefined): string => Buffer.from(field ?? '', 'base64').toString('utf8');

/**
 * Runs several bash scripts in one machine at once, each with its own output, exit code and time
 * limit, through a single exec: an exec costs the engine ~45 ms of CPU, and grading a chapter or
 * the cluster's health runs dozens of small scripts. Needs only `exec`, and bash, timeout and base64
 * where it runs.
 */
export async function execScripts(exec: ExecCommand, machine: string, scripts: string[], options: ExecOptions & { timeoutMs: number }): Promise<ScriptResult[]> {
  const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
  const { exitCode, stdout, stderr } = await exec(['bash', '-c', BATCH, 'batch', String(seconds), ...scripts], {
    ...options,
    // every script is bounded by its own limit; this only catches a wrapper that hangs
    timeoutMs: (seconds + 10) * 1000,
  });
  const results: (ScriptResult | undefined)[] = Array.from({ length: scripts.length }, () => undefined);
  for (const line of stdout.split('\n')) {
    const [index, code, out, err] = line.split(' ');
    if (index === undefined || !/^\d+$/.test(index) || Number(index) >= scripts.length) continue;
    const status = Number(code);
    results[Number(index)] = { exitCode: status, stdout: decode(out), stderr: decode(err), timedOut: status === 124 || status === 137 };
  }
  return results.map((result) => result ?? { exitCode: -1, stdout: '', stderr: `the batch of checks on ${machine} ended early (exit ${exitCode}): ${stderr.trim()}`, timedOut: false });
}

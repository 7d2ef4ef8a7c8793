import type { BinariesState } from '../src/artifacts/build-status.ts';

/**
 * The lab server's API. The token comes with the page's URL once; it is kept in sessionStorage (so a
 * reload still has it) and sent as `Authorization: Bearer` on every /api/* call.
 */

export interface StepInfo {
  id: string;
  title: string;
  machine: string;
  prose: string;
  passed: boolean;
}

export interface ChapterInfo {
  number: number;
  title: string;
  summary?: string;
  steps: StepInfo[];
}

export interface MachineInfo {
  name: string;
  description: string;
  state: 'running' | 'stopped' | 'missing';
  ip: string | null;
}

export interface FaultInfo {
  id: string;
  title: string;
  component: string;
  difficulty: number;
}

/** The fault to fix; a surprise has neither id nor title until the learner gives up. */
export interface ActiveFault {
  hidden: boolean;
  id?: string;
  title?: string;
  component?: string;
  difficulty?: number;
  symptom: string;
  hints: string[];
  hintsTotal: number;
}

export interface Failure {
  message: string;
  output: string;
}

export interface JobLine {
  kind: 'progress' | 'done' | 'say' | 'warn';
  text: string;
}

export interface Action {
  machine: string;
  run: string;
}

/** A give-up's answer: known when it starts, shown while the fix is applied. */
export interface GiveUpAnswer extends FaultInfo {
  symptom: string;
  injected: Action[];
  fix: Action[];
}

export interface Job {
  id: number;
  kind: 'up' | 'reset' | 'down' | 'break' | 'giveup' | 'heal';
  title: string;
  state: 'running' | 'done' | 'failed';
  lines: JobLine[];
  startedAt: number;
  finishedAt?: number;
  info?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { error: string; next?: string; failures?: Failure[] };
}

export interface LabState {
  lab: string;
  currentChapter: number;
  lastChapter: number;
  /** The chapter that starts on a built, proven cluster: where break-and-fix begins. */
  clusterChapter: number;
  /** Every step of chapters 1…builtThrough has passed. */
  builtThrough: number;
  /** Changes when the lab's machines are replaced: terminals then open new shells. */
  generation: number;
  components: string[];
  machines: MachineInfo[];
  /** The binaries this lab builds in the background that the cache lacks, and the host's build of them. */
  binaries: BinariesState;
  chapters: ChapterInfo[];
  faults: FaultInfo[];
  fault: ActiveFault | null;
  job: Job | null;
}

export interface FaultCheck {
  passed: boolean;
  failures: Failure[];
  fixed?: FaultInfo;
}

export interface HintAnswer {
  text: string;
  index: number;
  total: number;
  last?: boolean;
}

/** An answer the page shows as it is: a result, or an error with the next thing to try. */
export type Answer<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: string; next?: string; failures?: Failure[]; job?: Job };

export interface StepResult {
  passed?: boolean;
  failures?: { message: string; output: string }[];
  solution?: string;
  text?: string;
  index?: number;
  total?: number;
  error?: string;
}

// The token comes with the URL on first load; the server also puts it in the page, and the tab keeps it, so a reload keeps working.
// API calls send it in a header.
const TOKEN_KEY = 'hardway-token';
const fromUrl = new URLSearchParams(location.search).get('token');
if (fromUrl) {
  sessionStorage.setItem(TOKEN_KEY, fromUrl);
  history.replaceState(null, '', location.pathname);
}
const token = fromUrl ?? document.querySelector<HTMLMetaElement>('meta[name="hardway-token"]')?.content ?? sessionStorage.getItem(TOKEN_KEY) ?? '';

const headers = (): HeadersInit => ({ 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) });

/** A refusal in the server's words: a 429 says what was limited and in how many seconds to try again (`retryAfterS`). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterS: number | null,
  ) {
    super(message);
  }
}

/** The answer's JSON body; one that is not JSON (a proxy's error page) is said as its status. */
const bodyOf = async (response: Response): Promise<Record<string, unknown>> =>
  (await response.json().catch(() => ({ error: `the server answered ${response.status}` }))) as Record<string, unknown>;

async function refusal(response: Response): Promise<ApiError> {
  const retry = Number(response.headers.get('Retry-After'));
  return new ApiError(String((await bodyOf(response)).error), response.status, Number.isFinite(retry) && retry > 0 ? retry : null);
}

export async function fetchState(): Promise<LabState> {
  const response = await fetch('./api/state', { headers: headers() });
  if (!response.ok) throw await refusal(response);
  return (await response.json()) as LabState;
}

/** POSTs to the API; a refusal (400, 409, 429, …) comes back as an answer with the server's words, not an exception. */
export async function post<T>(path: string, body: object = {}): Promise<Answer<T>> {
  const response = await fetch(`./api/${path}`, { method: 'POST', headers: headers(), body: JSON.stringify(body) });
  const parsed = await bodyOf(response);
  if (response.ok) return { ok: true, status: response.status, body: parsed as T };
  return { ok: false, status: response.status, ...(parsed as { error: string; next?: string; failures?: Failure[]; job?: Job }) };
}

/** A step's check, hint or solve; a refusal (a 429 too) comes back as the result's error, in the server's words. */
export async function stepAction(action: 'check' | 'hint' | 'solve', chapter: number, step: string): Promise<StepResult> {
  const response = await fetch(`./api/${action}`, { method: 'POST', headers: headers(), body: JSON.stringify({ chapter, step }) });
  const body = (await bodyOf(response)) as StepResult;
  return response.ok ? body : { error: body.error ?? `the server answered ${response.status}` };
}

export function terminalUrl(machine: string, client: string, seen: number, columns: number, rows: number): string {
  const url = new URL('./ws/terminal', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const params = { machine, client, seen: String(seen), cols: String(columns), rows: String(rows), ...(token ? { token } : {}) };
  url.search = new URLSearchParams(params).toString();
  return url.toString();
}

export interface LogLine {
  time: number;
  machine: string;
  component: string;
  severity: string;
  message: string;
  raw: string;
  /** What the log catalog says of this message, when it knows it. */
  known?: { means: string; expected: boolean; why?: string; next?: string };
}

export interface LogFilter {
  component: string;
  level: string;
  grep: string;
}

/** The log lines since a moment; a refusal (429: too many reads) throws an ApiError with the server's words. */
export async function fetchLogs(since: number, filter: LogFilter): Promise<LogLine[]> {
  const params = new URLSearchParams({ since: String(since), component: filter.component, level: filter.level, grep: filter.grep });
  const response = await fetch(`./api/logs?${params}`, { headers: headers() });
  if (!response.ok) throw await refusal(response);
  return ((await response.json()) as { entries: LogLine[] }).entries;
}

export type { ClusterMap } from '../src/map/status.ts';
export type { BinariesState, BuildStatus } from '../src/artifacts/build-status.ts';
export type { Trace, TraceEntry } from '../src/trace/model.ts';
export type { Traceable } from '../src/trace/collect.ts';

/** GETs a route; a refusal comes back as an answer with the server's words. */
async function get<T>(path: string): Promise<Answer<T>> {
  const response = await fetch(`./api/${path}`, { headers: headers() });
  const parsed = await bodyOf(response);
  if (response.ok) return { ok: true, status: response.status, body: parsed as T };
  return { ok: false, status: response.status, ...(parsed as { error: string; next?: string }) };
}

export const fetchMap = () => get<import('../src/map/status.ts').ClusterMap>('map');
export const fetchTraceable = () => get<{ items: import('../src/trace/collect.ts').Traceable[] }>('traceable');
export const fetchTrace = (ref: string, namespace: string) => get<import('../src/trace/model.ts').Trace>(`trace?${new URLSearchParams({ ref, namespace })}`);

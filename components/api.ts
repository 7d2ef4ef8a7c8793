/** The lab server's API. The token comes with the page's URL; the server also leaves it in a cookie. */

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
  state: string;
}

export interface LabState {
  lab: string;
  currentChapter: number;
  components: string[];
  machines: MachineInfo[];
  chapters: ChapterInfo[];
}

export interface StepResult {
  passed?: boolean;
  failures?: { message: string; output: string }[];
  solution?: string;
  text?: string;
  index?: number;
  total?: number;
  error?: string;
}

// The server puts the token in the page (a reload has dropped it from the URL); API calls send it in a header.
const token = new URLSearchParams(location.search).get('token') ?? document.querySelector<HTMLMetaElement>('meta[name="hardway-token"]')?.content ?? '';
if (location.search.includes('token=')) history.replaceState(null, '', location.pathname);

const headers = (): HeadersInit => ({ 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) });

export async function fetchState(): Promise<LabState> {
  const response = await fetch('./api/state', { headers: headers() });
  if (!response.ok) throw new Error(((await response.json()) as { error: string }).error);
  return (await response.json()) as LabState;
}

export async function stepAction(action: 'check' | 'hint' | 'solve', chapter: number, step: string): Promise<StepResult> {
  const response = await fetch(`./api/${action}`, { method: 'POST', headers: headers(), body: JSON.stringify({ chapter, step }) });
  return (await response.json()) as StepResult;
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
}

export interface LogFilter {
  component: string;
  level: string;
  grep: string;
}

export async function fetchLogs(since: number, filter: LogFilter): Promise<LogLine[]> {
  const params = new URLSearchParams({ since: String(since), component: filter.component, level: filter.level, grep: filter.grep });
  const response = await fetch(`./api/logs?${params}`, { headers: headers() });
  if (!response.ok) return [];
  return ((await response.json()) as { entries: LogLine[] }).entries;
}

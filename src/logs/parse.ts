/** One line of one component's log, parsed; the original is kept for --raw. */
export interface LogEntry {
  /** Milliseconds since the epoch. */
  time: number;
  machine: string;
  component: string;
  severity: Severity;
  message: string;
  raw: string;
}

export type Severity = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export const SEVERITIES: Severity[] = ['debug', 'info', 'warn', 'error', 'fatal'];

const KLOG = /^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ ([^\]]+)\] (.*)$/;
const LOGRUS = /^time="([^"]+)" level=(\w+) msg="((?:[^"\\]|\\.)*)"(.*)$/;
const COREDNS = /^(?:(\S+Z) )?\[(DEBUG|INFO|WARNING|ERROR|FATAL)\] (.*)$/;

/**
 * Parses a message in whichever format its component writes: klog (the Kubernetes components),
 * etcd's JSON, containerd's logrus, CoreDNS's [LEVEL] lines; anything else keeps the severity
 * journald gave it.
 */
export function parseMessage(message: string, fallback: Severity): { severity: Severity; message: string; time?: number } {
  const klog = message.match(KLOG);
  if (klog) return { severity: ({ I: 'info', W: 'warn', E: 'error', F: 'fatal' } as const)[klog[1] as 'I'], message: `${unescapeQuoted(klog[3]!)} (${klog[2]})` };
  if (message.startsWith('{')) {
    const json = parseJson(message);
    if (json && typeof json.level === 'string' && typeof json.msg === 'string') {
      const details = ['error', 'err', 'remote-addr', 'address', 'local-member-id']
        .filter((key) => json[key] !== undefined)
        .map((key) => `${key}=${JSON.stringify(json[key])}`);
      return { severity: severityOf(json.level), message: [json.msg, ...details].join(' '), time: typeof json.ts === 'string' ? Date.parse(json.ts) : undefined };
    }
  }
  const logrus = message.match(LOGRUS);
  if (logrus) {
    const text = unescape(logrus[3]!);
    const extra = unescapeQuoted(logrus[4]!.trim());
    // A shim's own log relayed by containerd at warning level ("cleanup warnings time=… level=info msg=…") has the shim's levels inside: the worst counts.
    const nested = text.startsWith('cleanup warnings ') ? [...text.matchAll(/\blevel=(\w+)/g)].map((m) => severityOf(m[1]!)) : [];
    const severity = nested.length ? nested.reduce((worst, s) => (SEVERITIES.indexOf(s) > SEVERITIES.indexOf(worst) ? s : worst)) : severityOf(logrus[2]!);
    return { severity, message: text + (extra ? ` ${extra}` : ''), time: Date.parse(logrus[1]!) };
  }
  const coredns = message.match(COREDNS);
  if (coredns) return { severity: severityOf(coredns[2]!), message: coredns[3]!, time: coredns[1] ? Date.parse(coredns[1]) : undefined };
  return { severity: fallback, message };
}

/** A quoted Go string's contents as the text it stands for: \\" is ", \\n a line break; left as written if it is not valid. */
function unescape(inner: string): string {
  if (!inner.includes('\\')) return inner;
  try {
    return JSON.parse(`"${inner}"`) as string;
  } catch {
    return inner;
  }
}

/** Every "quoted value" of a structured line (klog's key="value", logrus fields), unescaped; the raw line keeps the escapes. */
export function unescapeQuoted(text: string): string {
  return text.replace(/"((?:[^"\\]|\\.)*)"/g, (_whole, inner: string) => `"${unescape(inner)}"`);
}

export function severityOf(level: string): Severity {
  const lower = level.toLowerCase();
  if (lower.startsWith('warn')) return 'warn';
  if (lower === 'error' || lower === 'err') return 'error';
  if (lower === 'fatal' || lower === 'panic' || lower === 'dpanic' || lower === 'crit') return 'fatal';
  if (lower === 'debug' || lower === 'trace') return 'debug';
  return 'info';
}

/** journald's PRIORITY (syslog levels) as a severity. */
export function severityOfPriority(priority: string | undefined): Severity {
  const value = Number(priority ?? 6);
  if (value <= 2) return 'fatal';
  if (value === 3) return 'error';
  if (value === 4) return 'warn';
  if (value === 7) return 'debug';
  return 'info';
}

/** One line of `journalctl -o json`, as an entry. */
export function parseJournalLine(line: string, machine: string): LogEntry | null {
  const record = parseJson(line);
  if (!record || typeof record.MESSAGE !== 'string') return null;
  const unit = String(record.UNIT ?? record._SYSTEMD_UNIT ?? record.SYSLOG_IDENTIFIER ?? 'system');
  const parsed = parseMessage(record.MESSAGE, severityOfPriority(record.PRIORITY as string | undefined));
  return {
    time: Math.floor(Number(record.__REALTIME_TIMESTAMP) / 1000),
    machine,
    component: unit.replace(/\.service$/, ''),
    severity: parsed.severity,
    message: parsed.message,
    raw: record.MESSAGE,
  };
}

/** One line of `kubectl logs --timestamps --prefix`: "[pod/NAME/CONTAINER] 2026-…Z message". */
export function parsePodLine(line: string, component: string): LogEntry | null {
  const match = line.match(/^\[pod\/([^/\]]+)\/[^\]]+\] (\S+Z) (.*)$/);
  if (!match) return null;
  const parsed = parseMessage(match[3]!, 'info');
  return { time: Date.parse(match[2]!), machine: match[1]!, component, severity: parsed.severity, message: parsed.message, raw: match[3]! };
}

/**
 * Lines that continue the entry before them (a Go panic's stack, a multi-line message: indented,
 * in no known format) are joined to it, so one entry is one event.
 */
export function joinContinuations(entries: LogEntry[]): LogEntry[] {
  const joined: LogEntry[] = [];
  for (const entry of entries) {
    const previous = joined[joined.length - 1];
    const continues = previous && previous.machine === entry.machine && previous.component === entry.component && entry.time - previous.time < 1000 && /^(\s|goroutine \d+ \[)/.test(entry.raw);
    if (continues) {
      joined[joined.length - 1] = { ...previous, message: `${previous.message}\n${entry.raw}`, raw: `${previous.raw}\n${entry.raw}` };
    } else {
      joined.push(entry);
    }
  }
  return joined;
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

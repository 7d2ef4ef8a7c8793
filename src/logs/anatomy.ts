import { unescapeQuoted } from './parse.ts';

/** One part of a log line and what it is. */
export interface Field {
  name: string;
  value: string;
  means: string;
}

export interface Anatomy {
  format: string;
  /** Which components write this format. */
  writers: string;
  fields: Field[];
  /** A line of hardway's own timeline holds another component's message: whose, and the message. */
  carries?: { component: string; message: string };
}

export const UNKNOWN_FORMAT = 'unknown';

const KLOG = /^([IWEF])(\d{2})(\d{2}) (\d{2}:\d{2}:\d{2}\.\d+)\s+(\d+) ([^\]]+)\] (.*)$/;
const SEVERITY_LETTER: Record<string, string> = { I: 'Info', W: 'Warning', E: 'Error', F: 'Fatal (the process exits)' };
/** key=value or key="quoted value" pairs, as klog's structured logging and logrus write them. */
const PAIRS = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S+)/g;

/** Names the format of a pasted log line and each of its fields, as an operator reads them. */
export function anatomyOf(input: string): Anatomy {
  const line = input.trim().replace(/^\w{3} +\d+ [\d:]+ \S+ [^\s[]+\[\d+\]: /, ''); // a journalctl prefix ("Nov 23 07:30:56 server kubelet[440]: ") is not part of the line
  return timeline(line) ?? klog(line) ?? etcdJson(line) ?? logrus(line) ?? coredns(line) ?? { format: UNKNOWN_FORMAT, writers: 'none of the formats hardway knows (hardway\'s timeline, klog, etcd JSON, logrus, CoreDNS)', fields: [{ name: 'text', value: line, means: 'the line as written' }] };
}

/** As `lab logs` prints a line (its formatEntry): time, machine, component, severity, each padded, then the message. */
const TIMELINE = /^(\d{2}:\d{2}:\d{2}\.\d{3}) +(\S+) +(\S+) +(DEBUG|INFO|WARN|ERROR|FATAL)(?: +([\s\S]*))?$/;

function timeline(line: string): Anatomy | null {
  const m = line.match(TIMELINE);
  if (!m) return null;
  const [, time, machine, component, severity, message = ''] = m as unknown as string[];
  return {
    format: 'hardway\'s timeline',
    writers: 'lab logs, which merges every component\'s log in time order (the line as the component wrote it is inside)',
    fields: [
      { name: 'time', value: time!, means: 'the time of day in UTC, to the millisecond: when the journal (or, for a pod, the container runtime) recorded the line' },
      { name: 'machine', value: machine!, means: 'the machine whose journal it is in (for an add-on, its pod), cut to 10 characters' },
      { name: 'component', value: component!, means: 'the systemd unit (or add-on) that wrote it: lab logs --component picks it alone' },
      { name: 'severity', value: severity!, means: 'read from the line\'s own format (klog\'s first letter, level=…), else the journal\'s priority: lab logs --level filters by it' },
      { name: 'message', value: message, means: 'what the component said, its format\'s prefix taken off (klog\'s source file is in brackets at the end); lab logs --raw prints the line as written' },
    ],
    carries: { component: component!, message },
  };
}

function klog(line: string): Anatomy | null {
  const m = line.match(KLOG);
  if (!m) return null;
  const [, letter, month, day, time, thread, source, rest] = m as unknown as string[];
  const firstPair = rest!.search(/ [A-Za-z_][\w.-]*=/);
  const message = rest!.startsWith('"') ? (rest!.match(/^"((?:[^"\\]|\\.)*)"/)?.[0] ?? rest!) : firstPair > 0 ? rest!.slice(0, firstPair) : rest!;
  const pairs = [...rest!.slice(message.length).matchAll(PAIRS)];
  return {
    format: 'klog',
    writers: 'the Kubernetes components: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy',
    fields: [
      { name: 'severity', value: letter!, means: `the first letter: ${SEVERITY_LETTER[letter!]}` },
      { name: 'date', value: `${month}${day}`, means: `month and day (${month}-${day}); klog writes no year` },
      { name: 'time', value: time!, means: 'the time of day, to the microsecond, in the machine\'s time zone (UTC here)' },
      { name: 'pid', value: thread!, means: 'klog calls it the thread id, but Go\'s klog writes the process id: the PID journalctl shows as kubelet[440]. A new number means the component restarted' },
      { name: 'source', value: source!, means: 'the Go file and line of the Kubernetes source that wrote it: search for it to read the code' },
      { name: 'message', value: unescapeQuoted(message.trim()), means: 'what happened; structured lines quote it, and keep their details in key=value pairs after it' },
      ...pairs.map(([, key, value]) => ({ name: key!, value: unescapeQuoted(value!), means: KLOG_KEYS[key!] ?? 'a detail of this event' })),
    ],
  };
}

const KLOG_KEYS: Record<string, string> = {
  err: 'the error the component met, often wrapping the error beneath it ("…: …")',
  pod: 'the pod, as namespace/name',
  podUID: 'the pod\'s UID: the same in the API server\'s objects, the kubelet\'s and containerd\'s logs',
  node: 'the node it concerns',
  logger: 'the part of the component that wrote it',
  controller: 'which controller of the controller manager wrote it',
  containerName: 'the container inside the pod',
};

function etcdJson(line: string): Anatomy | null {
  if (!line.startsWith('{')) return null;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof record.msg !== 'string' || typeof record.level !== 'string') return null;
  const known: Record<string, string> = {
    level: 'the severity (debug, info, warn, error, panic, fatal)',
    ts: 'the time, in UTC, to the microsecond',
    caller: 'the Go file and line of etcd\'s source that wrote it',
    msg: 'what happened',
    'local-member-id': 'this etcd member\'s id',
    'remote-addr': 'the client or peer address',
    error: 'the error etcd met',
  };
  return {
    format: 'etcd JSON (zap)',
    writers: 'etcd',
    fields: Object.entries(record).map(([name, value]) => ({ name, value: typeof value === 'string' ? value : JSON.stringify(value), means: known[name] ?? 'a detail of this event' })),
  };
}

function logrus(line: string): Anatomy | null {
  if (!/^time="[^"]+" level=\w+ msg=/.test(line)) return null;
  const known: Record<string, string> = {
    time: 'the time, in UTC, to the nanosecond',
    level: 'the severity (debug, info, warning, error, fatal)',
    msg: 'what happened',
    error: 'the error containerd met',
    id: 'a container or sandbox id: crictl ps / crictl pods show which',
    namespace: 'containerd\'s namespace: k8s.io holds what the kubelet runs',
  };
  return {
    format: 'logrus (key=value)',
    writers: 'containerd (and the shims it relays)',
    fields: [...line.matchAll(PAIRS)].map(([, name, value]) => ({ name: name!, value: unescapeQuoted(value!).replace(/^"|"$/g, ''), means: known[name!] ?? 'a detail of this event' })),
  };
}

function coredns(line: string): Anatomy | null {
  const m = line.match(/^(?:(\S+Z) )?\[(DEBUG|INFO|WARNING|ERROR|FATAL)\] (?:(plugin\/[\w]+): )?(.*)$/);
  if (!m) return null;
  return {
    format: 'CoreDNS',
    writers: 'CoreDNS (read with kubectl logs -n kube-system -l k8s-app=kube-dns)',
    fields: [
      ...(m[1] ? [{ name: 'time', value: m[1], means: 'the time kubectl logs --timestamps added (the container runtime recorded it)' }] : []),
      { name: 'level', value: m[2]!, means: 'the severity' },
      ...(m[3] ? [{ name: 'plugin', value: m[3], means: 'the Corefile plugin that wrote it (errors, log, forward, kubernetes…)' }] : []),
      { name: 'message', value: m[4]!, means: 'what happened' },
    ],
  };
}

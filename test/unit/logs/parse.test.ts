import { describe, expect, it } from 'vitest';
import { joinContinuations, parseJournalLine, parseMessage, parsePodLine, severityOfPriority, type LogEntry } from '../../../src/logs/parse.ts';

// Lines as our binaries printed them in a lab (Kubernetes v1.35.8, etcd v3.6.8, containerd 1.6.20, CoreDNS 1.13.1).
const ETCD = '{"level":"info","ts":"2026-11-23T07:30:53.148863Z","caller":"embed/serve.go:220","msg":"serving client traffic insecurely; this is strongly discouraged!","traffic":"grpc+http","address":"127.0.0.1:2379"}';
const APISERVER_WARN = 'W1123 07:30:56.146324     477 logging.go:55] [core] [Channel #6 SubChannel #7]grpc: addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379"}. Err: connection error';
const KUBELET_ERROR = 'E1123 06:58:12.702051     440 run.go:72] "command failed" err="failed to run Kubelet: failed to create kubelet: open /dev/kmsg: no such file or directory"';
const CONTAINERD_WARN = 'time="2026-11-23T07:31:02.745141261Z" level=warning msg="failed to load plugin io.containerd.snapshotter.v1.devmapper" error="devmapper not configured"';
const COREDNS_POD = '[pod/coredns-7d4b9c8f5d-x2x9q/coredns] 2026-11-23T07:31:12.693729595Z [ERROR] plugin/errors: 2 924705117942726090.9194848811805681998. HINFO: plugin/loop: no next plugin found';

describe('log parsers, on lines our binaries print', () => {
  it('reads etcd\'s JSON: level, message, address and its own timestamp', () => {
    const parsed = parseMessage(ETCD, 'info');
    expect(parsed.severity).toBe('info');
    expect(parsed.message).toBe('serving client traffic insecurely; this is strongly discouraged! address="127.0.0.1:2379"');
    expect(parsed.time).toBe(Date.parse('2026-11-23T07:30:53.148863Z'));
  });

  it('reads klog severities and keeps the source location', () => {
    expect(parseMessage(APISERVER_WARN, 'info')).toMatchObject({ severity: 'warn', message: expect.stringMatching(/^\[core\].*connection error \(logging\.go:55\)$/) });
    expect(parseMessage(KUBELET_ERROR, 'info')).toMatchObject({ severity: 'error', message: expect.stringContaining('open /dev/kmsg: no such file or directory') });
  });

  it('reads containerd\'s logrus lines, with their extra fields', () => {
    expect(parseMessage(CONTAINERD_WARN, 'info')).toEqual({
      severity: 'warn',
      message: 'failed to load plugin io.containerd.snapshotter.v1.devmapper error="devmapper not configured"',
      time: Date.parse('2026-11-23T07:31:02.745141261Z'),
    });
  });

  it('reads CoreDNS pod lines from kubectl logs --timestamps --prefix', () => {
    const entry = parsePodLine(COREDNS_POD, 'coredns')!;
    expect(entry).toMatchObject({ machine: 'coredns-7d4b9c8f5d-x2x9q', component: 'coredns', severity: 'error' });
    expect(entry.message).toMatch(/^plugin\/errors: /);
    expect(entry.time).toBe(Date.parse('2026-11-23T07:31:12.693729595Z'));
  });

  it('reads a journald JSON record: its unit is the component, its time is the journal\'s', () => {
    const record = JSON.stringify({ __REALTIME_TIMESTAMP: '1795419107809346', _SYSTEMD_UNIT: 'kube-apiserver.service', PRIORITY: '6', MESSAGE: APISERVER_WARN });
    expect(parseJournalLine(record, 'server')).toMatchObject({ time: 1795419107809, machine: 'server', component: 'kube-apiserver', severity: 'warn', raw: APISERVER_WARN });
    const systemd = JSON.stringify({ __REALTIME_TIMESTAMP: '1795419107809346', _SYSTEMD_UNIT: 'init.scope', UNIT: 'etcd.service', PRIORITY: '6', MESSAGE: 'Stopped etcd.service - etcd.' });
    expect(parseJournalLine(systemd, 'server')).toMatchObject({ component: 'etcd', severity: 'info', message: 'Stopped etcd.service - etcd.' });
  });

  it('falls back to journald\'s priority for plain lines', () => {
    expect(parseMessage('something plain', severityOfPriority('3'))).toEqual({ severity: 'error', message: 'something plain' });
    expect(severityOfPriority('4')).toBe('warn');
    expect(parseJournalLine('not json', 'server')).toBeNull();
  });

  it('unescapes quoted values in the message and keeps the raw line as written', () => {
    const line = 'E1123 07:40:01.123456     812 kuberuntime_manager.go:1256] "Failed to create sandbox for pod" err="plugin type=\\"bridge\\" failed (add): failed to find plugin \\"bridge\\" in path [/usr/lib/cni]" pod="default/nginx"';
    const record = JSON.stringify({ __REALTIME_TIMESTAMP: '1795419107809346', _SYSTEMD_UNIT: 'kubelet.service', PRIORITY: '6', MESSAGE: line });
    const entry = parseJournalLine(record, 'node-0')!;
    expect(entry.message).toContain('err="plugin type="bridge" failed (add): failed to find plugin "bridge" in path [/usr/lib/cni]"');
    expect(entry.raw).toBe(line);
  });

  it('gives a shim\'s log relayed by containerd its own level', () => {
    const relayed = 'time="2026-11-23T07:31:02.745141261Z" level=warning msg="cleanup warnings time=\\"2026-11-23T07:31:02Z\\" level=info msg=\\"starting signal loop\\" namespace=k8s.io pid=1234"';
    expect(parseMessage(relayed, 'info').severity).toBe('info');
    expect(parseMessage(relayed, 'info').message).toMatch(/^cleanup warnings time="2026-11-23T07:31:02Z" level=info msg="starting signal loop"/);
    expect(parseMessage(CONTAINERD_WARN, 'info').severity).toBe('warn');
    const failing = 'time="2026-12-01T07:22:25.634Z" level=warning msg="cleanup warnings time=\\"2026-12-01T07:22:25Z\\" level=info msg=\\"starting signal loop\\" time=\\"2026-12-01T07:22:25Z\\" level=error msg=\\"fork/exec /usr/local/bin/runc: no such file or directory\\""';
    expect(parseMessage(failing, 'info').severity).toBe('error');
  });

  it('keeps a multi-line entry together: indented lines join the entry before them', () => {
    const at = (time: number, raw: string, component = 'kube-apiserver'): LogEntry => ({ time, machine: 'server', component, severity: 'info', message: raw, raw });
    const entries = [at(1000, 'panic: runtime error'), at(1000, 'goroutine 1 [running]:'), at(1001, '\tmain.main()'), at(1001, 'next event'), at(1002, '\tother unit', 'etcd')];
    const joined = joinContinuations(entries);
    expect(joined.map((e) => e.raw)).toEqual(['panic: runtime error\ngoroutine 1 [running]:\n\tmain.main()', 'next event', '\tother unit']);
  });
});

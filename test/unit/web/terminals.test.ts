import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CLOSE_REPLACED, CLOSE_SHELL_ENDED, CLOSE_TERMINAL_LOST, TerminalRegistry, TerminalSession, closeReason, type Viewer } from '../../../src/web/terminals.ts';
import { FakeProvider } from '../../helpers/fake-provider.ts';
import type { Terminal } from '../../../vm/provider.ts';

function fakeTerminal() {
  const stream = new PassThrough();
  let exit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (exit = resolve));
  const terminal: Terminal = { stream, resize: async () => {}, exited };
  return { terminal, stream, exit };
}

function viewer() {
  const got: string[] = [];
  const closes: { code: number; reason: string }[] = [];
  const v: Viewer = { send: (data) => got.push(data.toString()), close: (code, reason) => closes.push({ code, reason }) };
  return { v, got, closes };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('a terminal session', () => {
  it('detaching an old viewer after a new one attached changes nothing', async () => {
    const { terminal, stream } = fakeTerminal();
    const session = new TerminalSession(terminal, () => {}, 20);
    const a = viewer();
    const b = viewer();
    const first = session.attach(a.v, 0);
    stream.write('hello');
    await tick();
    session.attach(b.v, 0);
    expect(a.closes).toEqual([{ code: CLOSE_REPLACED, reason: expect.any(String) as unknown as string }]);
    expect(b.got).toEqual(['hello']);
    first.detach(); // the old socket's close arrives late
    expect(session.attached).toBe(true);
    await new Promise((r) => setTimeout(r, 50)); // past the orphan time
    expect(session.ended).toBe(false);
    stream.write('more');
    await tick();
    expect(b.got).toEqual(['hello', 'more']);
  });

  it('replays only what the viewer missed', async () => {
    const { terminal, stream } = fakeTerminal();
    const session = new TerminalSession(terminal, () => {});
    stream.write('abc');
    stream.write('def');
    await tick();
    const a = viewer();
    session.attach(a.v, 4);
    expect(a.got).toEqual(['ef']);
  });

  it('an exit closes the viewer as shell ended; a lost engine (-1) or a stream error as terminal lost', async () => {
    for (const [how, code] of [['exit', CLOSE_SHELL_ENDED], ['lost', CLOSE_TERMINAL_LOST], ['error', CLOSE_TERMINAL_LOST]] as const) {
      const { terminal, stream, exit } = fakeTerminal();
      let ended = 0;
      const session = new TerminalSession(terminal, () => ended++);
      const a = viewer();
      session.attach(a.v, 0);
      if (how === 'exit') exit(0);
      if (how === 'lost') exit(-1);
      if (how === 'error') stream.destroy(new Error('socket hang up'));
      await tick();
      expect(a.closes[0]?.code).toBe(code);
      expect(ended).toBe(1);
      // A viewer that comes too late is told the same.
      const late = viewer();
      session.attach(late.v, 0);
      expect(late.closes[0]?.code).toBe(code);
      session.write(Buffer.from('ignored')); // writing to an ended session does not throw
    }
  });

  it('close reasons fit a control frame', () => {
    expect(Buffer.byteLength(closeReason('é'.repeat(200)))).toBeLessThanOrEqual(123);
    expect(closeReason('short')).toBe('short');
  });
});

describe('the registry of shells', () => {
  it("opens a login shell where ssh would land: root's home, root's environment", async () => {
    const provider = new FakeProvider();
    await provider.create({ lab: 'l', name: 'jumpbox', ip: '10.240.0.10', image: 'i', containerdVolume: false });
    const registry = new TerminalRegistry(provider, 'l');
    await registry.open('tab', 'jumpbox', 80, 24);
    expect(provider.terminalLog).toEqual([
      { lab: 'l', machine: 'jumpbox', command: ['bash', '-l'], options: { workdir: '/root', env: expect.objectContaining({ HOME: '/root', USER: 'root', LOGNAME: 'root', TERM: 'xterm-256color' }) as unknown as Record<string, string> } },
    ]);
  });
});

import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { LabError } from '../../util/errors.ts';
import { say, warn } from '../../util/output.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const integer = (flag: string, text: string): number => {
  const value = Number(text);
  if (!Number.isInteger(value)) throw new LabError(`${flag} must be a whole number, not "${text}"`, undefined, 2);
  return value;
};
const course = async () => (await import('../../engine/session.ts')).loadCourseData();

export function registerRoomCommands(program: Command): void {
  const room = program.command('room').description('a training day: one server for a room of learners, their labs on one or more Docker engines, and the instructor\'s board');

  room
    .command('create')
    .description('create a room (its labs are made when it is served)')
    .argument('<name>', 'the room\'s name (lowercase, at most 20 characters)')
    .addOption(new Option('--chapter <n>', 'the chapter learners start at (the ones before are replayed)').default('1'))
    .addOption(new Option('--capacity <n>', 'learners (labs) at most').default('20'))
    .addOption(new Option('--prewarm <n>', 'labs made before anyone joins').default('0'))
    .option('--engine <spec>', 'a Docker engine for labs (repeat for several): local, unix:///path, tcp://host:2376?tlsdir=DIR, ssh://user@host?key=FILE&known_hosts=FILE (the host key must be in known_hosts); add max=N, subnet=10.241', collect, [])
    .addOption(new Option('--duration <time>', 'how long the room is open (8h, 90m)').default('8h'))
    .addOption(new Option('--memory <size>', 'memory per machine (4 per lab); 0 for none').default('1g'))
    .addOption(new Option('--pids <n>', 'processes per machine; 0 for none').default('2048'))
    .action(async (name: string, options: { chapter: string; capacity: string; prewarm: string; engine: string[]; duration: string; memory: string; pids: string }) => {
      const { createRoom, parseDuration, parseSize, instructorTokenFile } = await import('../../room/open.ts');
      const created = createRoom(await course(), {
        name,
        chapter: integer('--chapter', options.chapter),
        capacity: integer('--capacity', options.capacity),
        prewarm: integer('--prewarm', options.prewarm),
        durationMs: parseDuration(options.duration),
        engines: options.engine,
        limits: { memoryBytes: parseSize(options.memory), pids: integer('--pids', options.pids), diskBytes: 0 },
      });
      say(`Room ${name} is created: chapter ${created.room.chapter}, up to ${created.room.capacity} learners, join code ${created.room.join_code}.`);
      say(`The instructor's token is in ${instructorTokenFile(name)} (only you can read it). Next: lab room serve ${name}`);
    });

  room
    .command('serve')
    .description('serve the room: the join page, every learner\'s lab, the board; pre-warms labs')
    .argument('[name]', 'the room (default: the only open one)')
    .addOption(new Option('--port <port>', 'port to listen on').default('7080'))
    .addOption(new Option('--host <address>', 'address to listen on (beyond loopback it serves HTTPS)').default('127.0.0.1'))
    .option('--cert <file>', 'the TLS certificate to serve (PEM); one is made when not given')
    .option('--key <file>', 'its private key (PEM)')
    .option('--insecure-http', 'serve plain HTTP on a non-loopback address (tokens and keystrokes cross the network readable)')
    .action(async (name: string | undefined, options: { port: string; host: string; cert?: string; key?: string; insecureHttp?: boolean }) => {
      const port = integer('--port', options.port);
      const { openRoom, roomCertificate } = await import('../../room/open.ts');
      const { isLoopback, startRoomServer } = await import('../../web/room-server.ts');
      const { ensureUiBuilt } = await import('../../web/ui-build.ts');
      if (Boolean(options.cert) !== Boolean(options.key)) throw new LabError('--cert and --key go together', undefined, 2);
      const loopback = isLoopback(options.host);
      let tls: { cert: string; key: string } | undefined;
      if (options.cert || (!loopback && !options.insecureHttp)) {
        const made = roomCertificate(options.host, options.cert && options.key ? { cert: options.cert, key: options.key } : undefined);
        tls = made;
        say(`HTTPS certificate SHA-256 fingerprint (learners' browsers will ask; compare it):\n  ${made.fingerprint}`);
      } else if (!loopback) {
        warn(`Serving plain HTTP on ${options.host} (--insecure-http): anyone on this network can read learners' tokens and keystrokes and take over their root shells. Use it only on a network you trust.`);
      }
      const { room, instructorToken } = openRoom(await course(), name);
      await room.start();
      const uiDir = await ensureUiBuilt();
      const server = await startRoomServer({ room, host: options.host, port, uiDir, tls }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') throw new LabError(`port ${port} is already in use`, `pick another: --port ${port + 1}`);
        throw error;
      });
      say(`Room ${room.row.name} is served. Learners open:\n\n  ${server.url}\n\nand give the join code ${room.row.join_code}.`);
      say(instructorToken ? `The board:\n\n  ${server.boardUrl(instructorToken)}\n` : 'The instructor token file is missing: lab room token <name> makes a new one.');
      say('Ctrl-C stops the server; the room carries on when it is served again.');
      await new Promise<void>((resolve) => {
        const stop = (): void => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  room
    .command('token')
    .description('a new instructor token for the room (the old one stops working)')
    .argument('<name>', 'the room')
    .action(async (name: string) => {
      const { openRoom, instructorTokenFile } = await import('../../room/open.ts');
      const { room, store } = openRoom(await course(), name);
      const token = store.rotateInstructorToken(room.row.id);
      writeFileSync(instructorTokenFile(name), `${token}\n`, { mode: 0o600 });
      say(`A new instructor token is in ${instructorTokenFile(name)}.`);
    });

  room
    .command('end')
    .description('end the room: every lab it made is removed, on every engine')
    .argument('[name]', 'the room (default: the only open one)')
    .action(async (name: string | undefined) => {
      const { openRoom } = await import('../../room/open.ts');
      const { room, store } = openRoom(await course(), name);
      await room.refreshEngines();
      await room.end();
      const labs = store.labs(room.row.id, { removed: true });
      const left = labs.filter((l) => l.state !== 'removed');
      say(`Room ${room.row.name} has ended: ${labs.length - left.length} labs removed.`);
      if (left.length) throw new LabError(`${left.length} labs could not be removed: ${left.map((l) => `${l.name} (${l.error})`).join(', ')}`, 'run lab room end again once their engines answer');
    });

  room
    .command('list')
    .description('the rooms, open and ended')
    .action(async () => {
      const { openRoomDb } = await import('../../room/db.ts');
      const { RoomStore } = await import('../../room/store.ts');
      const { roomDbPath } = await import('../../room/open.ts');
      const store = new RoomStore(openRoomDb(roomDbPath()));
      for (const r of store.rooms()) say(`${r.name}\tchapter ${r.chapter}\t${store.learners(r.id).length}/${r.capacity} learners\t${r.ended_at ? 'ended' : `open, code ${r.join_code}`}`);
    });

  room
    .command('export')
    .description('the room\'s record for a report: learners\' totals and when each passed each step (CSV), or everything (JSON)')
    .argument('[name]', 'the room (default: the only open one)')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .action(async (name: string | undefined, options: { format: 'csv' | 'json' }) => {
      const { openRoom } = await import('../../room/open.ts');
      const { room } = openRoom(await course(), name);
      process.stdout.write(options.format === 'csv' ? room.exportCsv() : `${JSON.stringify(room.exportRecord(), null, 2)}\n`);
    });
}

import { Option, type Command } from 'commander';
import pc from 'picocolors';
import { ALL_SOURCES } from '../../artifacts/sources/names.ts';
import { LabError } from '../../util/errors.ts';
import { say } from '../../util/output.ts';
import { DEFAULT_LAB } from '../../lab/topology.ts';
import { engineProvider, openLab } from '../context.ts';

// The artifact modules (YAML, hashing, tar) load only when a command runs, so `lab --help` stays fast.
const cache = () => import('../../artifacts/cache.ts');
const manifest = () => import('../../artifacts/manifest.ts');
const obtain = () => import('../../artifacts/obtain.ts');
const background = () => import('../../artifacts/background.ts');

interface FetchOptions {
  source: string;
  mirror?: string;
  binDir?: string;
  force?: boolean;
  set?: string;
  background?: boolean;
}

export function registerArtifactCommands(program: Command): void {
  const artifacts = program.command('artifacts').description('the upstream Kubernetes, etcd and CoreDNS binaries the labs run');

  artifacts
    .command('list')
    .description('pinned versions, and which are in the cache')
    .action(async () => {
      const [{ cachedOrigin, isCached }, { hostPlatform }, { manifestComponents }] = await Promise.all([cache(), manifest(), obtain()]);
      const platform = hostPlatform();
      for (const component of manifestComponents()) {
        const state = isCached(component, platform) ? pc.green(`cached (from ${cachedOrigin(component, platform)})`) : pc.yellow(component.optional ? 'not cached (optional)' : 'not cached');
        say(`${component.name.padEnd(11)} ${component.version.padEnd(9)} ${state}  ${pc.dim(component.binaries.join(' '))}`);
      }
    });

  artifacts
    .command('fetch')
    .description('obtain binaries into the cache, trying each source in order (one build per host at a time: a background build is waited for first)')
    .argument('[names...]', 'components or binaries (default: all)')
    .addOption(new Option('--source <list>', `sources to try, in order (${ALL_SOURCES.join(',')})`).env('HARDWAY_SOURCES').default(ALL_SOURCES.join(',')))
    .addOption(new Option('--mirror <url>', 'base URL of a mirror holding the official layout').env('HARDWAY_MIRROR'))
    .addOption(new Option('--bin-dir <dir>', 'a folder of binaries you already have').env('HARDWAY_BIN_DIR'))
    .option('--force', 'obtain again even when cached')
    .option('--set <sets>', "only the binaries of these sets: course (the chapters' cluster), upgrade (the upgrade chapter's Kubernetes)")
    .option('--background', 'as lab up starts it: give up at once while another build runs; progress goes to the status file and log (lab status shows them)')
    .action(async (names: string[], options: FetchOptions) => {
      const [{ artifactsRoot }, { parseSets, setOf }, { manifestComponents, parseSources }, { runBuild }] = await Promise.all([cache(), manifest(), obtain(), background()]);
      const sets = options.set ? parseSets(options.set) : undefined;
      const components = manifestComponents(names).filter((c) => !sets || (!c.optional && sets.includes(setOf(c))));
      const obtainOptions = { sources: parseSources(options.source), mirror: options.mirror, binDir: options.binDir, force: options.force };
      // A background build tells the `lab up` that started it (over IPC) that it runs, then lets it go.
      const announce = (message: string) => {
        if (process.send && process.connected) process.send(message, () => process.connected && process.disconnect());
      };
      await runBuild(components, obtainOptions, { background: Boolean(options.background), announce });
      if (!options.background) say(`Cache: ${artifactsRoot()}`);
    });

  artifacts
    .command('verify')
    .description('check each cached binary: a downloaded one against its pinned SHA-256, a built or copied one against the SHA-256 recorded when it landed')
    .argument('[names...]', 'components or binaries (default: all)')
    .action(async (names: string[]) => {
      const [{ hostPlatform }, { manifestComponents }, { hasMismatch, verdictLine, verifyArtifacts }] = await Promise.all([manifest(), obtain(), import('../../artifacts/verify.ts')]);
      const verdicts = await verifyArtifacts(manifestComponents(names), hostPlatform());
      const paint = (status: string, word: string) => (status === 'ok' ? pc.green(word) : status === 'mismatch' ? pc.red(word) : pc.yellow(word));
      for (const verdict of verdicts) say(verdictLine(verdict, paint));
      if (hasMismatch(verdicts)) throw new LabError(`${verdicts.filter(({ status }) => status === 'mismatch').length} cached binaries failed verification`, 'obtain them again: lab artifacts fetch --force <name>');
    });

  artifacts
    .command('where')
    .description('print the cache folder, or the path of one binary')
    .argument('[binary]', 'e.g. kube-apiserver')
    .action(async (binary?: string) => {
      const [{ artifactsRoot, binaryPath, isCached }, { hostPlatform }, { manifestComponents }] = await Promise.all([cache(), manifest(), obtain()]);
      if (!binary) return say(artifactsRoot());
      const [component] = manifestComponents([binary]);
      const platform = hostPlatform();
      if (!component!.binaries.includes(binary)) throw new LabError(`"${binary}" is a component, not a binary`, `name one of: ${component!.binaries.join(', ')}`, 2);
      if (!isCached(component!, platform)) throw new LabError(`${binary} is not in the cache`, `run: lab artifacts fetch ${component!.name}`);
      say(binaryPath(component!, binary, platform));
    });

  artifacts
    .command('bundle')
    .description('pack every cached binary into one tarball for an offline room (with --snapshots, the usable snapshots too)')
    .argument('<file>', 'the tarball to write (.tar.gz)')
    .option('--snapshots', 'carry the snapshots the course can use, newest of each, so the room starts labs from them')
    .action(async (file: string, options: { snapshots?: boolean }) => {
      const { createBundle } = await import('../../artifacts/bundle.ts');
      let carrier;
      if (options.snapshots) {
        const engine = await openLab(DEFAULT_LAB);
        const seen = new Set<string>();
        const ids = (await engine.snapshots()).filter(({ snapshot, usable }) => usable && !seen.has(snapshot.key) && seen.add(snapshot.key)).map(({ snapshot }) => snapshot.id);
        if (ids.length === 0) throw new LabError('no snapshot the course can use is kept here', 'keep one first: lab up <chapter> --keep-snapshot, or lab snapshot');
        carrier = { ids, write: (id: string, folder: string) => engine.provider.exportSnapshot(id, folder) };
      }
      const folders = await createBundle(file, carrier);
      say(`Wrote ${file}: ${folders.join(', ')}`);
    });

  artifacts
    .command('import')
    .description('load a bundle made by lab artifacts bundle into the cache (and its snapshots into the engine), checking every file')
    .argument('<file>', 'the tarball')
    .action(async (file: string) => {
      const [{ importBundle }, { IMPORTABLE_SNAPSHOT }] = await Promise.all([import('../../artifacts/bundle.ts'), import('../../engine/snapshots.ts')]);
      // The Docker engine is needed only when the bundle carries snapshots.
      const folders = await importBundle(file, async (folder) => (await (await engineProvider()).importSnapshot(folder, IMPORTABLE_SNAPSHOT)).id);
      say(`Imported ${folders.join(', ')}`);
    });
}

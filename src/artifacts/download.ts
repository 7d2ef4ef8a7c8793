import { createWriteStream, existsSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Progress } from '../util/output.ts';

const MiB = 2 ** 20;

/**
 * Downloads url to dest with a progress line. An interrupted download is kept as dest.partial and
 * resumed with a Range request next time.
 */
export async function downloadFile(url: string, dest: string, label: string): Promise<void> {
  const partial = `${dest}.partial`;
  const have = existsSync(partial) ? statSync(partial).size : 0;
  const response = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: AbortSignal.timeout(600_000) });
  if (response.status === 416) {
    renameSync(partial, dest);
    return;
  }
  if (!response.ok || !response.body) throw new Error(`${url} answered ${response.status}`);
  const resumed = response.status === 206;
  if (!resumed && have > 0) unlinkSync(partial);
  const total = Number(response.headers.get('content-length') ?? 0) + (resumed ? have : 0);
  const progress = new Progress(label);
  let received = resumed ? have : 0;
  let lastShown = 0;
  const body = Readable.fromWeb(response.body as never);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received - lastShown >= 4 * MiB || received === total) {
      lastShown = received;
      progress.update(total ? `${((100 * received) / total).toFixed(0)}% of ${(total / MiB).toFixed(1)} MiB` : `${(received / MiB).toFixed(1)} MiB`);
    }
  });
  await pipeline(body, createWriteStream(partial, { flags: resumed ? 'a' : 'w' }));
  renameSync(partial, dest);
  progress.done(`${(received / MiB).toFixed(1)} MiB`);
}

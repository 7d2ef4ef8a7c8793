import { readFile, stat } from 'node:fs/promises';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { extname, isAbsolute, join, normalize, relative } from 'node:path';
import type { Duplex } from 'node:stream';

/** The HTTP plumbing both web servers (`lab serve`, `lab room serve`) share: headers, JSON in and out, files, refusals. */

export type Headers = Record<string, string>;

export const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

/** Headers on everything: no other site may frame the page or embed its files. */
export const SAFETY_HEADERS: Headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Cross-Origin-Resource-Policy': 'same-origin' };

/** An answer with this status and `{ error: message }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
/** An IPv6 address as it stands in a URL or Host header. */
export const bracketed = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** The request's path and query; 400 if it is not a URL. */
export function parseUrl(path: string | undefined): URL {
  try {
    return new URL(path ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'that is not a valid URL');
  }
}

/** The token of an `Authorization: Bearer` header. */
export const bearerOf = (request: IncomingMessage): string | null => request.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? null;

/** The value of the request's cookie of this name. */
export const cookieOf = (request: IncomingMessage, name: string): string | null =>
  (request.headers.cookie ?? '')
    .split(/;\s*/)
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1) ?? null;

/** Resolves once the server listens; rejects if it cannot (port taken, no such address). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function sendJson(response: ServerResponse, status: number, body: object, headers: Headers = SAFETY_HEADERS): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

/** An HTTP answer written on a socket that asked to upgrade, which is then closed. */
export function refuseUpgrade(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  (socket as Socket).destroySoon?.();
}

export interface ReadJsonOptions {
  /** The largest body accepted, in bytes (413 beyond). */
  limit: number;
  /** Whether a 400 for a body that does not parse says what JSON.parse said. */
  parseDetail?: boolean;
}

/** A JSON object body, bounded: 413 past the limit, 415 if it is not JSON, 400 if it does not parse. */
export async function readJson(request: IncomingMessage, { limit, parseDetail = false }: ReadJsonOptions): Promise<Record<string, unknown>> {
  const tooLarge = (): HttpError => new HttpError(413, `the request body is larger than ${limit} bytes`);
  if (Number(request.headers['content-length']) > limit) {
    request.resume(); // the rest is read and dropped: memory stays bounded
    throw tooLarge();
  }
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      request.off('data', onData);
      request.resume();
      reject(tooLarge());
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
  if (text.length === 0) return {};
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) throw new HttpError(415, 'the request body must be JSON (Content-Type: application/json)');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, parseDetail ? `the request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}` : 'the request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

export interface ServeFileOptions {
  /** Headers besides Content-Type; SAFETY_HEADERS unless given. */
  headers?: Headers;
  /** What `/` serves; without it, `/` is not found. */
  index?: string;
  /** Put in an HTML page's head as `<meta name="hardway-token">`, for the page's scripts. */
  token?: string;
}

/** A file of the built UI below `root` (404 for anything else, or outside it). */
export async function serveFile(response: ServerResponse, root: string, pathname: string, options: ServeFileOptions = {}): Promise<void> {
  const headers = options.headers ?? SAFETY_HEADERS;
  const file = join(root, normalize(pathname === '/' && options.index ? options.index : pathname));
  const inside = relative(root, file);
  const info = inside.startsWith('..') || isAbsolute(inside) ? null : await stat(file).catch(() => null);
  if (!info?.isFile()) return sendJson(response, 404, { error: `no ${pathname}` }, headers);
  let content: Buffer | string = await readFile(file);
  const { token } = options;
  if (token && extname(file) === '.html') content = content.toString('utf8').replace(/<head(\s[^>]*)?>/i, (head) => `${head}\n<meta name="hardway-token" content="${token}">`);
  response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...headers });
  response.end(content);
}

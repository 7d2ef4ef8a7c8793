import type { ServerResponse } from 'node:http';
import { InFlight, TokenBuckets, type Rate } from '../util/rate-limit.ts';
import { SAFETY_HEADERS, sendJson, type Headers } from './http.ts';

/** How much one learner (one token) may ask of a lab server, so that no learner can starve the others. */
export interface Limits {
  /** Every API call: how often, and how many may be unanswered at once. */
  calls: { rate: Rate; inFlight: number };
  /** The reads that run commands in every machine (READ_ROUTES), counted again on their own. */
  reads: { rate: Rate; inFlight: number };
  /** Terminal WebSockets: how often a new one may open, and how many may be open at once. */
  terminals: { rate: Rate; open: number };
}

/**
 * The defaults, from what the page does: while a job runs it reads /api/state every second, the log
 * timeline every 2 s and the map every 5 s (each poll waits for its previous answer), the room's
 * notices every 2 s, and it opens a shell per machine it shows plus a second one for watches. That
 * is about 130 calls and 42 reads a minute a tab: two tabs, with Check clicked every few seconds, stay
 * inside every limit (under half the calls, 70 % of the reads). A script that asks for logs as fast as
 * it can is refused within 2 s.
 */
export const DEFAULT_LIMITS: Limits = {
  calls: { rate: { burst: 120, perMinute: 600 }, inFlight: 16 },
  // Each read runs a command in every machine of the lab: these are what a runaway script would use up.
  reads: { rate: { burst: 30, perMinute: 120 }, inFlight: 4 },
  // Four machines with two shells each, in two tabs, is 16; a reload reopens a tab's shells at once.
  terminals: { rate: { burst: 20, perMinute: 20 }, open: 16 },
};

/** The API routes that exec in the lab's machines: the expensive reads. */
export const READ_ROUTES = new Set(['/api/logs', '/api/trace', '/api/map', '/api/traceable', '/api/health']);

/** Why a learner is refused for now: answered 429 with Retry-After, or as a WebSocket's close reason. */
export interface Refusal {
  retryAfterS: number;
  error: string;
  next: string;
}

export type Admission = { ok: true; release: () => void } | { ok: false; refusal: Refusal };

/** When a refusal for work in flight may be retried: by then a poll or a check has usually answered. */
const IN_FLIGHT_RETRY_S = 2;
const NEXT = "wait that long, then try again (the page's own polls do; a script should honour Retry-After)";

interface Class {
  what: string;
  rate: TokenBuckets;
  inFlight: InFlight;
}

/** The limits of a server, by learner key (the server's own token for lab serve, the learner for a room). */
export class LearnerLimits {
  private readonly calls: Class;
  private readonly reads: Class;
  private readonly terminalRate: TokenBuckets;
  private readonly terminalsOpen: InFlight;

  constructor(limits: Limits = DEFAULT_LIMITS, now: () => number = Date.now) {
    this.calls = { what: 'API calls', rate: new TokenBuckets(limits.calls.rate, now), inFlight: new InFlight(limits.calls.inFlight) };
    this.reads = { what: 'log, trace, map and health reads', rate: new TokenBuckets(limits.reads.rate, now), inFlight: new InFlight(limits.reads.inFlight) };
    this.terminalRate = new TokenBuckets(limits.terminals.rate, now);
    this.terminalsOpen = new InFlight(limits.terminals.open);
  }

  /** An API call to `path`: admitted (call release once it is answered) or refused; a refusal counts against nothing. */
  admitCall(key: string, path: string): Admission {
    const classes = READ_ROUTES.has(path) ? [this.calls, this.reads] : [this.calls];
    for (const c of classes) {
      if (c.inFlight.count(key) >= c.inFlight.limit) return refused(IN_FLIGHT_RETRY_S, `too many ${c.what} at once: each learner may have ${c.inFlight.limit} unanswered; try again in ${IN_FLIGHT_RETRY_S} s`);
    }
    for (const c of classes) {
      const wait = c.rate.wait(key);
      if (wait > 0) return refused(wait, `too many ${c.what}${c === this.reads ? ` (this one: ${path})` : ''}: each learner may make ${perMinute(c.rate.rate)}; try again in ${wait} s`);
    }
    const ends = classes.map((c) => {
      c.rate.take(key);
      return c.inFlight.enter(key)!;
    });
    return { ok: true, release: () => ends.forEach((end) => end()) };
  }

  /** A new terminal WebSocket: admitted (call release when it closes) or refused. */
  admitTerminal(key: string): Admission {
    const { limit } = this.terminalsOpen;
    if (this.terminalsOpen.count(key) >= limit) return refused(5, `too many terminals open: at most ${limit} per learner; close one (or a tab), then try again in 5 s`);
    const wait = this.terminalRate.wait(key);
    if (wait > 0) return refused(wait, `too many new terminals: at most ${perMinute(this.terminalRate.rate)}; try again in ${wait} s`);
    this.terminalRate.take(key);
    return { ok: true, release: this.terminalsOpen.enter(key)! };
  }
}

const perMinute = (rate: Rate): string => `${rate.perMinute} a minute (${rate.burst} at once)`;

const refused = (retryAfterS: number, error: string): Admission => ({ ok: false, refusal: { retryAfterS, error, next: NEXT } });

/** The 429 answer: the refusal in the API's error shape, and when to retry. */
export function sendRefusal(response: ServerResponse, refusal: Refusal, headers: Headers = SAFETY_HEADERS): void {
  sendJson(response, 429, { error: refusal.error, next: refusal.next }, { ...headers, 'Retry-After': String(refusal.retryAfterS) });
}

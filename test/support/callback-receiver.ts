/**
 * A status-callback receiver on a real loopback HTTP server, scripted per request: answer 2xx,
 * fail with any status (429 with Retry-After...), hang without answering, or drop the connection.
 * With a secret it checks X-Voxgate-Signature the way a customer's receiver would (401 when wrong).
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { dropConnection, FakeVendorServer, receive, RequestLog } from './fake-vendor-server.js';
import { verifyVoxgateSignature } from '../../src/dialer/callback-signature.js';
import type { Store } from '../../src/store/database.js';
import { CallbackOutboxRepository } from '../../src/store/callback-outbox-repository.js';
import { StatusNotifier, type StatusNotifierEvent, type StatusNotifierOptions } from '../../src/dialer/status-notifier.js';
import { FakeClock } from './fake-clock.js';
import { captureLogger, type CapturedLog } from './captured-logger.js';

export type ReceiverReply =
  | { status: number; body?: string; headers?: Record<string, string> }
  /** Reads the request, then never answers (until the receiver closes). */
  | { hang: true }
  /** Reads the request, then destroys the socket without a response. */
  | { drop: true };

export interface ReceivedCallback {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Raw body text, as signed. */
  body: string;
  /** What the receiver did with it. */
  reply: ReceiverReply;
}

export interface CallbackReceiverOptions {
  /** When set, requests whose signature does not verify get 401 (and are recorded). */
  secret?: string;
  /** The receiver's clock for the signature's age check (tests pass the fake clock). */
  now?: () => number;
  toleranceSec?: number;
}

const OK: ReceiverReply = { status: 200, body: '{"received":true}', headers: { 'Content-Type': 'application/json' } };

export class CallbackReceiver {
  private readonly log = new RequestLog<ReceivedCallback>();
  readonly requests = this.log.entries;
  private readonly script: ReceiverReply[] = [];
  private readonly server = new FakeVendorServer(async (req, res) => {
    const received = await receive(req);
    this.answer(received.method, received.url, received.headers, received.text, res);
  });

  private constructor(private readonly opts: CallbackReceiverOptions) {}

  static async start(opts: CallbackReceiverOptions = {}): Promise<CallbackReceiver> {
    const receiver = new CallbackReceiver(opts);
    await receiver.server.listen();
    return receiver;
  }

  url(path = '/voxgate/status'): string {
    return `${this.server.origin}${path}`;
  }

  /** The next requests get these replies, in order; after them, 200. */
  replyNext(...replies: ReceiverReply[]): this {
    this.script.push(...replies);
    return this;
  }

  /** The next `n` requests fail with `status` (default 503). */
  failNext(n: number, status = 503): this {
    for (let i = 0; i < n; i++) this.script.push({ status, body: `{"error":"try later (${status})"}`, headers: { 'Content-Type': 'application/json' } });
    return this;
  }

  /** Resolves once `count` requests have arrived in all. */
  waitForRequests(count: number): Promise<ReceivedCallback[]> {
    return this.log.atLeast(count).then((all) => all.slice(0, count));
  }

  /** Timestamps (X-Voxgate-Timestamp) of the requests received, in unix seconds. */
  timestamps(): number[] {
    return this.requests.map((r) => Number(r.headers['x-voxgate-timestamp']));
  }

  /** Ends hanging requests and every connection. */
  async close(): Promise<void> {
    await this.server.close();
  }

  private answer(method: string, path: string, headers: IncomingHttpHeaders, body: string, res: ServerResponse): void {
    let reply = this.script.shift() ?? OK;
    if (this.opts.secret !== undefined) {
      const valid = verifyVoxgateSignature(
        this.opts.secret,
        header(headers, 'x-voxgate-timestamp'),
        body,
        header(headers, 'x-voxgate-signature'),
        this.opts.toleranceSec,
        this.opts.now?.() ?? Date.now(),
      );
      if (!valid) reply = { status: 401, body: '{"error":"invalid X-Voxgate-Signature"}', headers: { 'Content-Type': 'application/json' } };
    }
    this.log.add({ method, path, headers, body, reply });
    // A hanging request is left open: close() ends it.
    if ('drop' in reply) {
      dropConnection(res);
    } else if (!('hang' in reply)) {
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    }
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

// ---- A StatusNotifier wired to a receiver, a fake clock and a captured log, for the notifier tests. ----

export const CALLBACK_SECRET = 'whsec_test_5f1c0a9e';
export const T0 = 1_700_000_000_000;

export interface NotifierHarness {
  clock: FakeClock;
  receiver: CallbackReceiver;
  outbox: CallbackOutboxRepository;
  notifier: StatusNotifier;
  events: StatusNotifierEvent[];
  logs: CapturedLog[];
  /** Another notifier on `store` (a restarted or second process) sharing the clock, secret and log. */
  spawn(store: Store, overrides?: Partial<StatusNotifierOptions>): StatusNotifier;
  /** Resolves with the first event (already seen or still to come) that `match` accepts. */
  eventWhere(match: (event: StatusNotifierEvent) => boolean): Promise<StatusNotifierEvent>;
  /** Closes the receiver first (so hanging requests end), then every notifier. */
  close(): Promise<void>;
}

/**
 * Empties the outbox (suites share one database per dialect), starts a signature-checking
 * receiver and a notifier with an exact retry schedule (no jitter) on a fake clock.
 */
export async function startNotifierHarness(store: Store, overrides: Partial<StatusNotifierOptions> = {}): Promise<NotifierHarness> {
  await store.db.deleteFrom('callback_outbox').execute();
  const clock = new FakeClock(T0);
  const receiver = await CallbackReceiver.start({ secret: CALLBACK_SECRET, now: () => clock.now() });
  const { logger, lines } = captureLogger();
  const events: StatusNotifierEvent[] = [];
  const notifiers: StatusNotifier[] = [];
  const spawn = (s: Store, more: Partial<StatusNotifierOptions> = {}): StatusNotifier => {
    const notifier = new StatusNotifier({
      outbox: new CallbackOutboxRepository(s.db),
      secret: CALLBACK_SECRET,
      clock,
      logger,
      requestTimeoutMs: 2000,
      ...overrides,
      ...more,
      retry: { random: () => 0, ...overrides.retry, ...more.retry },
    });
    notifier.onEvent((e) => events.push(e));
    notifiers.push(notifier);
    return notifier;
  };
  const notifier = spawn(store);
  return {
    clock,
    receiver,
    outbox: new CallbackOutboxRepository(store.db),
    notifier,
    events,
    logs: lines,
    spawn,
    eventWhere(match) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const stop = notifiers.map((n) => n.onEvent((e) => {
          if (!match(e)) return;
          for (const s of stop) s();
          resolve(e);
        }));
      });
    },
    async close() {
      await receiver.close();
      for (const n of notifiers) await n.close();
    },
  };
}

/** Moves the fake clock on, then waits for the notifier to finish what fell due. */
export async function advanceAndSettle(h: NotifierHarness, ms: number, notifier: StatusNotifier = h.notifier): Promise<void> {
  h.clock.advance(ms);
  await notifier.idle();
}

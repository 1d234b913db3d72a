/**
 * Live calls pushed over a WebSocket, for the console's live page:
 *   GET /api/v1/live  -> WebSocket
 *
 * Protocol (JSON text frames):
 *   client -> {"type":"auth","token":"<bearer token>"}   first message, within 5 s
 *   server -> {"type":"snapshot","calls":[{...call, transcript:[{at,who,text}]}]}
 *   server -> {"type":"call.started"|"call.answered"|"transcript"|"dtmf"|"call.ended", ...bus event}
 *   server -> {"type":"error","error":"..."} then close: 1008 bad token/scope, 1003 malformed message,
 *             1013 when the socket cannot keep up (more than 1 MB buffered).
 *
 * In a cluster the stream shows the whole service: events come from the service bus (every
 * instance's, each once) and the snapshot holds every instance's live calls (the call directory).
 *
 * Exception to the scope-enforcement rule: browsers cannot set an Authorization header on a
 * WebSocket upgrade, so this route is registered outside the enforcement context (like the console
 * and metrics routes) and checks the token in-band with the same ApiAuth and scope rule (calls:read).
 */
import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type {} from '@fastify/websocket';
import type { ApiAuth } from './auth/api-auth.js';
import { hasScope } from './auth/scopes.js';
import type { BusEventMap, EventBus } from '../events/bus.js';
import type { Store } from '../store/database.js';
import type { Logger } from '../logger.js';
import { liveCallView, type LiveCallSummary } from './calls-routes.js';
import type { DirectoryCall } from '../cluster/call-directory.js';

export const LIVE_STREAM_PATH = '/api/v1/live';
export const DEFAULT_AUTH_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const NEEDED_SCOPE = 'calls:read';

export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_TRY_AGAIN_LATER = 1013;

const PUSHED_EVENTS = ['call.started', 'call.answered', 'transcript', 'dtmf', 'call.ended'] as const satisfies readonly (keyof BusEventMap)[];

export interface LiveStreamRoutesOptions {
  auth: Pick<ApiAuth, 'authenticateRequest'>;
  /** The service bus (src/cluster/service-events.ts): this process's events, and in a cluster every other instance's. */
  bus: EventBus;
  live: { list(): LiveCallSummary[] };
  /** Every instance's live calls (CallDirectory.calls()), for the snapshot; calls `live` lists are taken from there. */
  serviceCalls?: () => Promise<DirectoryCall[]>;
  /** This instance's id: every call in the snapshot names the instance running it. */
  instanceId?: string;
  store: Pick<Store, 'transcripts'>;
  logger: Logger;
  authTimeoutMs?: number;
  maxBufferedBytes?: number;
}

function parseAuthMessage(data: RawData, isBinary: boolean): { token: string } | undefined {
  if (isBinary) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(([] as Buffer[]).concat(data as Buffer | Buffer[])).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { type, token } = parsed as { type?: unknown; token?: unknown };
  if (type !== 'auth' || typeof token !== 'string') return undefined;
  return { token };
}

export async function liveStreamRoutes(app: FastifyInstance, opts: LiveStreamRoutesOptions): Promise<void> {
  if (!app.hasDecorator('websocketServer')) throw new Error('liveStreamRoutes needs @fastify/websocket registered on the app before it');
  const { auth, bus, live, store } = opts;
  const log = opts.logger.child({ component: 'live-stream' });
  const authTimeoutMs = opts.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
  const maxBuffered = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;

  app.get(LIVE_STREAM_PATH, { websocket: true, schema: { hide: true } }, (socket: WebSocket, request) => {
    const unsubscribes: (() => void)[] = [];
    let state: 'awaiting-auth' | 'authenticating' | 'streaming' | 'closed' = 'awaiting-auth';
    // Read through a function: the socket may close while an await is pending, which TS's narrowing cannot see.
    const closed = () => state === 'closed';

    const stop = () => {
      state = 'closed';
      clearTimeout(authTimer);
      for (const off of unsubscribes.splice(0)) off();
    };
    const fail = (code: number, error: string) => {
      if (state === 'closed') return;
      stop();
      if (socket.readyState === socket.OPEN) {
        socket.send(JSON.stringify({ type: 'error', error }));
        socket.close(code, error);
      } else socket.terminate();
    };
    const push = (message: object) => {
      if (state !== 'streaming' || socket.readyState !== socket.OPEN) return;
      // A console on a slow link must not make the gateway hold an unbounded backlog.
      if (socket.bufferedAmount > maxBuffered) {
        log.warn({ ip: request.ip, buffered: socket.bufferedAmount }, 'live stream client cannot keep up: closing');
        fail(CLOSE_TRY_AGAIN_LATER, 'client cannot keep up');
        return;
      }
      socket.send(JSON.stringify(message));
    };

    const authTimer = setTimeout(() => fail(CLOSE_POLICY_VIOLATION, 'missing or invalid bearer token'), authTimeoutMs);
    socket.on('close', stop);
    socket.on('error', (err) => {
      log.debug({ err }, 'live stream socket error');
      stop();
    });

    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (state !== 'awaiting-auth') {
        // After auth the client has nothing to say: anything it sends is a protocol error.
        if (state === 'streaming') fail(CLOSE_UNSUPPORTED_DATA, 'unexpected message: the stream takes no messages after auth');
        return;
      }
      const message = parseAuthMessage(data, isBinary);
      if (!message) {
        fail(CLOSE_UNSUPPORTED_DATA, 'first message must be {"type":"auth","token":"<bearer token>"}');
        return;
      }
      state = 'authenticating';
      clearTimeout(authTimer);
      void start(message.token).catch((err: unknown) => {
        log.error({ err }, 'live stream failed to start');
        fail(1011, 'internal error');
      });
    });

    const otherInstancesCalls = async (): Promise<DirectoryCall[]> => {
      if (!opts.serviceCalls) return [];
      try {
        return await opts.serviceCalls();
      } catch (err) {
        log.warn({ err }, "live stream snapshot without other instances' calls: the call directory did not answer");
        return [];
      }
    };

    const start = async (token: string) => {
      // The same brute-force limits as the API's bearer checks: a socket is not a way around them.
      const outcome = await auth.authenticateRequest(`Bearer ${token}`, request.ip);
      if (closed()) return;
      if (!outcome.ok && outcome.reason === 'throttled') {
        log.warn({ ip: request.ip }, 'live stream from a source locked out after failed authentications');
        return fail(CLOSE_POLICY_VIOLATION, `too many failed authentications; retry in ${Math.ceil(outcome.retryAfterMs / 1000)} s`);
      }
      if (!outcome.ok) {
        log.warn({ ip: request.ip }, 'live stream with a missing or invalid bearer token');
        return fail(CLOSE_POLICY_VIOLATION, 'missing or invalid bearer token');
      }
      const principal = outcome.principal;
      if (!hasScope(principal.scopes, NEEDED_SCOPE)) {
        log.info({ clientId: principal.clientId }, 'live stream without the needed scope');
        return fail(CLOSE_POLICY_VIOLATION, `missing scope ${NEEDED_SCOPE}`);
      }
      // Subscribe before reading the snapshot and queue until it is sent, so no event falls between the two.
      const queued: object[] = [];
      let snapshotSent = false;
      for (const type of PUSHED_EVENTS) {
        unsubscribes.push(
          bus.subscribe(type, (event) => {
            const message = { type, ...event };
            if (snapshotSent) push(message);
            else queued.push(message);
          }),
        );
      }
      const views: (ReturnType<typeof liveCallView> & { instance?: string })[] = live.list().map((c) => ({ ...liveCallView(c), ...(opts.instanceId ? { instance: opts.instanceId } : {}) }));
      const here = new Set(views.map((v) => v.id));
      for (const c of await otherInstancesCalls()) if (!here.has(c.callId)) views.push(remoteCallView(c));
      views.sort((a, b) => a.startedAt - b.startedAt);
      if (closed()) return;
      const calls = await Promise.all(
        views.map(async (view) => ({
          ...view,
          transcript: (await store.transcripts.listForCall(view.id)).map((l) => ({ at: l.at, who: l.speaker, text: l.text })),
        })),
      );
      if (closed()) return;
      state = 'streaming';
      push({ type: 'snapshot', calls });
      snapshotSent = true;
      // The record writer may already have stored a queued line: the snapshot has it, so it is not sent twice.
      const inSnapshot = new Set(calls.flatMap((c) => c.transcript.map((l) => `${c.id}\n${l.at}\n${l.who}\n${l.text}`)));
      for (const message of queued.splice(0)) {
        const m = message as { type: string; callId?: string; at?: number; who?: string; text?: string };
        if (m.type === 'transcript' && inSnapshot.has(`${m.callId}\n${m.at}\n${m.who}\n${m.text}`)) continue;
        push(message);
      }
    };
  });
}

/** Another instance's call as the snapshot shows it, in the shape of this instance's (liveCallView). */
function remoteCallView(c: DirectoryCall): ReturnType<typeof liveCallView> & { instance: string } {
  return { id: c.callId, carrier: c.carrier, direction: c.direction, from: c.from, to: c.to, bot: c.bot ?? '', startedAt: c.startedAt, connected: c.connected, instance: c.owner };
}

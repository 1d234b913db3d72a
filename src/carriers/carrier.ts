/**
 * The carrier module contract. Each folder under src/carriers/ (plivo, twilio, ...) exports one
 * `CarrierModule`: its configuration section, the environment variables that fill it, and how to make
 * the `Carrier` that mounts its webhooks and media sockets, places outbound calls and says what its
 * failure reports mean. Nothing outside a carrier's folder names the carrier; the composition root loops
 * over the configured ones (src/carriers/index.ts lists them).
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import type { Clock } from '../runtime/clock.js';
import type { OutboundReasonCode } from '../events/outbound-events.js';
import type { CallHandler, OutboundFailure } from './leg.js';
import type { HangupSide } from '../events/call-events.js';
import type { ClusterRouting } from '../cluster/forwarding.js';

/** An outbound call as the dialer asks a carrier to place it. */
export interface PlaceCallRequest {
  /** Voxgate's id for the call, chosen by the dialer; the carrier's callbacks must name it (e.g. in their URLs). */
  callId: string;
  /** Caller id (E.164). */
  from: string;
  /** The callee (E.164). */
  to: string;
  callerDisplayName?: string;
  /** Seconds the callee's phone may ring. */
  ringTimeoutSec: number;
  /**
   * Answering-machine detection. `detect`: the verdict reaches the handler (`machineDetected`) and the
   * call goes on; `disconnect`: a machine ends the call, by the carrier itself or by the adapter hanging
   * up once the verdict arrives, and the handler hears the verdict first.
   */
  machineDetection?: 'detect' | 'disconnect';
}

export interface Carrier {
  /** "plivo", "twilio": the name on call records, metrics, alarms, routes and dialout requests. */
  readonly name: string;
  /** Where its webhooks and media sockets are mounted, e.g. "/plivo". */
  readonly prefix: string;
  /** Registers the webhooks and the media socket on `app` (which has @fastify/websocket), under `prefix`. */
  registerRoutes(app: FastifyInstance, handler: CallHandler): Promise<void>;
  /** Places an outbound call; resolves with the carrier's id for the request once the carrier took it. */
  placeCall(request: PlaceCallRequest): Promise<{ carrierRequestId: string }>;
  /** Why this carrier could never place such a call (the dialer refuses it up front, naming the field), or undefined. */
  cannotPlace?(request: Pick<PlaceCallRequest, 'machineDetection'>): string | undefined;
  /** Maps the carrier's report of an unanswered outbound call to Voxgate's reason. */
  outboundReason(failure: OutboundFailure): OutboundReasonCode;
  /** The URLs the carrier's console needs (shown in the startup banner and docs): name -> URL. */
  webhookUrls(publicUrl: string): Record<string, string>;
  /**
   * The carrier ends its own calls when their media or signalling stop (SIP: RTP timeout, session
   * timers): the live-call registry does not reap them.
   */
  readonly endsSilentCalls?: boolean;
  /**
   * What the carrier says about a call Voxgate still thinks is live, asked over its API when the call's
   * stream or hangup callback never came. Absent when the carrier has no such API (or no credentials).
   */
  callState?(carrierCallId: string): Promise<CarrierCallState>;
  /** Ends a call at the carrier by its id; resolves false when the carrier says it had already ended. */
  hangupCall?(carrierCallId: string): Promise<boolean>;
}

/** A call as the carrier's API reports it. */
export type CarrierCallState =
  | { live: true; status: string }
  | {
      live: false;
      status: string;
      /** The carrier's cause, as its hangup callback would have said it (e.g. "Normal Hangup", "Completed"). */
      cause: string;
      side: HangupSide;
      durationSec?: number;
    };

/**
 * A caller a web page stands for (the console's operator, a website's widget key), once its request
 * passed the credential, origin and limit checks.
 */
export interface WebCaller {
  /** Who calls, e.g. "console:<client id>" or "widget:<key id>": the call record's `from`. */
  identity: string;
  /** A readable name for the record's caller name (the client id, the key's name). */
  displayName?: string;
  /** The bot the call goes to: the one the page asked for (console) or the one the key names (widget). */
  bot: string;
  /** Frees the caller's concurrent-call slot; called exactly once, when the call ends or was never set up. */
  release(): void;
}

/** Why a web page's call request was refused: the HTTP status and a message naming the reason. */
export interface WebCallRefusal {
  status: 400 | 401 | 403 | 404 | 429 | 503;
  error: string;
  /** With 429: when to try again. */
  retryAfterSec?: number;
}

/** What a web page's request says about who sends it. */
export interface WebCallRequest {
  authorization?: string;
  /** The page's Origin header (absent from scripts and same-origin GETs). */
  origin?: string;
  /** The origin the request was addressed to (scheme://host as the server saw it): a page on the gateway itself. */
  selfOrigin?: string;
}

/** Who may place calls from a web page (carriers whose callers are browsers); implemented by the application. */
export interface WebCallerAccess {
  /**
   * Checks a request to start a call: the bearer credential (a console access token with `calls:web`,
   * or a widget key), the page's Origin against the key's allowed origins, the key's limits, the bot.
   * On success the caller holds a concurrent-call slot until `release()`.
   */
  admitCall(request: WebCallRequest & { bot?: string; ip: string }): Promise<{ ok: true; caller: WebCaller } | ({ ok: false } & WebCallRefusal)>;
  /**
   * Checks a request about a call already admitted (hang up): the origin must still be allowed for the
   * credential (a key revoked meanwhile or an origin removed is refused). Without `authorization`, the
   * origin passes when any active key lists it (or it is the console's own).
   */
  checkOrigin(request: WebCallRequest): Promise<{ ok: true } | ({ ok: false } & WebCallRefusal)>;
}

/** What a web page following its own call is told, in order (the page's JSON event channel). */
export type PageCallEvent =
  | { type: 'answered'; callId: string; at: number }
  | { type: 'transcript'; who: 'bot' | 'caller' | 'system'; text: string; at: number }
  | { type: 'dtmf'; digit: string; at: number }
  | { type: 'transferred'; target: string; at: number }
  | { type: 'ended'; cause: string; reason: string; at: number };

/** One call's events as they happen, for carriers that show them to the caller (a browser page). */
export interface CallEventFeed {
  /** Follows `callId` until the returned function is called (or the call ends: `ended` is the last event). */
  follow(callId: string, listener: (event: PageCallEvent) => void): () => void;
}

export interface CarrierContext {
  /** The URL the carrier reaches Voxgate at; read per request (it is known only once the server listens). */
  publicUrl: () => string;
  logger: Logger;
  clock: Clock;
  /** REDIS_URL, when configured: state shared by every Voxgate process (e.g. signature nonces already seen). */
  redisUrl?: string;
  /** Other public base URLs the carrier may use (server.publicUrls): signatures made for any of them hold. */
  publicUrls?: () => readonly string[];
  /**
   * With `cluster.enabled`: the routing token every URL given to the carrier carries (`token`), and the
   * forwarding of webhooks and streams that belong to another instance's calls.
   */
  cluster?: ClusterRouting;
  /** Who may call from a web page (carriers whose callers are browsers). */
  webCallers?: WebCallerAccess;
  /** Live call events for carriers that pass them on to the caller (transcripts to a browser page). */
  callEvents?: CallEventFeed;
  /**
   * The instance is draining (SIGTERM): carriers that start calls themselves (a browser's offer)
   * refuse new ones with 503. With a cluster, `cluster.route` already sends them to a sibling.
   */
  draining?: () => boolean;
}

export interface CarrierModule<Config = unknown> {
  readonly name: string;
  /** The carrier's section under `carriers:` in the configuration (every field defaulted or required). */
  readonly configSchema: z.ZodType<Config, z.ZodTypeDef, unknown>;
  /** Environment variables that set keys of this section, e.g. PLIVO_AUTH_TOKEN -> authToken. */
  readonly env: readonly (readonly [variable: string, key: string])[];
  create(config: Config, context: CarrierContext): Carrier;
}

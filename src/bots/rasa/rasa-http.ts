/**
 * One exchange with Rasa's REST channel: `POST {url}/webhooks/{channel}/webhook` with
 * `{sender, message, metadata?}`, answered by a JSON array of bot messages. Every way this can go
 * wrong becomes a RasaError whose message names Rasa, the request and the status.
 */
import type { Clock } from '../../runtime/clock.js';
import { postWithDeadline } from '../deadline-post.js';

export type RasaErrorKind = 'network' | 'timeout' | 'http' | 'malformed';

/** Rasa did not take a message: unreachable, timed out, non-2xx or an answer that is not a list of bot messages. */
export class RasaError extends Error {
  override name = 'RasaError';
  constructor(
    readonly kind: RasaErrorKind,
    message: string,
    /** HTTP status, when Rasa answered. */
    readonly status?: number,
    /** `reason` of Rasa's error body (`NotAuthenticated`, `NotAuthorized`...), when it sent one. */
    readonly reason?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The REST channel's request body (rasa.core.channels.rest.RestInput). */
export interface RasaUserMessage {
  sender: string;
  message: string;
  metadata?: Record<string, unknown>;
}

export interface RasaEndpoint {
  /** `{url}/webhooks/{channel}/webhook`, without credentials: safe to log. */
  webhookUrl: string;
  /** Rasa's auth token, sent as the `token` query parameter. */
  token?: string;
  /** A JWT, sent as `Authorization: Bearer` (Rasa started with `--jwt-secret`). */
  bearerToken?: string;
  timeoutMs: number;
}

/** The webhook URL of a channel on a Rasa server given by its base URL (a path prefix is kept). */
export function rasaWebhookUrl(baseUrl: string, channel = 'rest'): string {
  const base = new URL(baseUrl);
  base.search = '';
  base.hash = '';
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/webhooks/${encodeURIComponent(channel)}/webhook`;
  return base.toString();
}

/** Rasa's error body (rasa.server.ErrorResponse): `{version, status:"failure", message, reason, code}`. */
function rasaErrorBody(text: string): { reason?: string; message?: string } {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null && (body as { status?: unknown }).status === 'failure') {
      const { reason, message } = body as { reason?: unknown; message?: unknown };
      return { reason: typeof reason === 'string' ? reason : undefined, message: typeof message === 'string' ? message : undefined };
    }
  } catch {
    // not Rasa's JSON error body: a proxy's page or Sanic's plain-text 404
  }
  return {};
}

function httpError(what: string, status: number, text: string, channelPath: string): RasaError {
  const { reason, message } = rasaErrorBody(text);
  const detail = reason ? `${reason}: ${message ?? ''}`.trim() : text.replace(/\s+/g, ' ').trim().slice(0, 200);
  let hint = '';
  if (status === 401) hint = ' (check the Rasa token / bearerToken)';
  else if (status === 403) hint = ' (the bearer token lacks the permission for this conversation)';
  // Sanic answers 404 for a channel that is not listed in Rasa's credentials.yml.
  else if (status === 404) hint = ` (is the REST channel enabled? Rasa serves ${channelPath} only when credentials.yml lists the channel)`;
  return new RasaError('http', `${what} answered ${status}${hint}${detail ? `: ${detail}` : ''}`, status, reason);
}

/**
 * POSTs one user message and returns Rasa's parsed answer (not yet checked to be an array).
 * `signal` aborts without a timeout error (the call ended); the caller decides what that means.
 */
export async function postRasaMessage(endpoint: RasaEndpoint, body: RasaUserMessage, what: string, clock: Clock, signal?: AbortSignal): Promise<unknown> {
  const url = new URL(endpoint.webhookUrl);
  if (endpoint.token) url.searchParams.set('token', endpoint.token);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (endpoint.bearerToken) headers.authorization = `Bearer ${endpoint.bearerToken}`;
  const answer = await postWithDeadline({ url, headers, body: JSON.stringify(body), timeoutMs: endpoint.timeoutMs, clock, signal });
  if ('failure' in answer) {
    if (answer.failure === 'timeout') throw new RasaError('timeout', `${what} got no answer within ${endpoint.timeoutMs} ms`, undefined, undefined, { cause: answer.error });
    // An abort at the call's end reads as a network failure too: the connector drops it anyway.
    throw new RasaError('network', `${what} failed: ${answer.detail} (is the Rasa server running?)`, undefined, undefined, { cause: answer.error });
  }
  const { status, text } = answer;
  if (status < 200 || status >= 300) throw httpError(what, status, text, new URL(endpoint.webhookUrl).pathname);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RasaError('malformed', `${what} answered ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 80))}`, status, undefined, { cause: err });
  }
}

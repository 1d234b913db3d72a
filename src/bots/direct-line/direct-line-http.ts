/**
 * One Direct Line 3.0 HTTP exchange: `Authorization: Bearer <secret or token>`, JSON in and out, a
 * deadline on the call clock, and errors that name Direct Line, the operation, the status and the
 * service's ErrorResponse (`{"error":{"code","message"}}`). Never retried here: a POSTed activity
 * has no client id Direct Line de-duplicates by.
 */
import type { Clock } from '../../runtime/clock.js';

export const DIRECT_LINE_PUBLIC_BASE_URL = 'https://directline.botframework.com/v3/directline';

export type DirectLineErrorKind =
  | 'auth'
  | 'token-expired'
  | 'conversation-gone'
  | 'rate-limited'
  | 'bot-unavailable'
  | 'http'
  | 'timeout'
  | 'network'
  | 'malformed'
  | 'stream';

export class DirectLineError extends Error {
  override name = 'DirectLineError';
  constructor(
    readonly kind: DirectLineErrorKind,
    message: string,
    readonly status?: number,
    /** ErrorResponse `error.code` (stable per the API reference), e.g. BotError, TokenExpired. */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface DirectLineRequest {
  method: 'GET' | 'POST';
  url: string;
  /** Secret or token. */
  bearer: string;
  /** What the request does, for error messages: "start conversation", "send activity"... */
  operation: string;
  body?: unknown;
  timeoutMs: number;
  clock: Clock;
  /** Aborts the request (the call ended). */
  signal?: AbortSignal;
}

/** Returns the parsed JSON answer of a 2xx; an empty body is `{}`. */
export async function directLineRequest(req: DirectLineRequest): Promise<unknown> {
  const what = `Direct Line ${req.operation} (${req.method} ${pathOf(req.url)})`;
  const controller = new AbortController();
  let timedOut = false;
  const timer = req.clock.setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, req.timeoutMs);
  const onOuterAbort = () => controller.abort();
  req.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let status: number;
  let text: string;
  try {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${req.bearer}` };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(req.url, {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: controller.signal,
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    if (timedOut) throw new DirectLineError('timeout', `${what} got no answer within ${req.timeoutMs} ms`, undefined, undefined, { cause: err });
    if (req.signal?.aborted) throw new DirectLineError('network', `${what} aborted: the call ended`, undefined, undefined, { cause: err });
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new DirectLineError('network', `${what} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`, undefined, undefined, { cause: err });
  } finally {
    timer.cancel();
    req.signal?.removeEventListener('abort', onOuterAbort);
  }
  if (status < 200 || status >= 300) throw statusError(what, status, text);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DirectLineError('malformed', `${what} answered malformed JSON (${(err as Error).message}): ${JSON.stringify(text.slice(0, 80))}`, status);
  }
}

function statusError(what: string, status: number, text: string): DirectLineError {
  const { code, message } = errorResponse(text);
  const detail = code || message ? `: ${[code, message].filter(Boolean).join(' - ')}` : '';
  const base = `${what} answered ${status}${detail}`;
  if (code === 'TokenExpired') return new DirectLineError('token-expired', `${base} (the conversation token expired before it was refreshed)`, status, code);
  if (status === 401 || status === 403) return new DirectLineError('auth', `${base} (check the Direct Line secret of the bot)`, status, code);
  if (status === 404) return new DirectLineError('conversation-gone', `${base} (no such conversation, or a wrong baseUrl)`, status, code);
  if (status === 429) return new DirectLineError('rate-limited', `${base} (too many requests)`, status, code);
  if (status === 502 || status === 504) return new DirectLineError('bot-unavailable', `${base} (the bot is unavailable or timed out)`, status, code);
  return new DirectLineError('http', base, status, code);
}

/** The ErrorResponse body; proxies in front of Direct Line may answer HTML or nothing. */
function errorResponse(text: string): { code?: string; message?: string } {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body?.error?.code === 'string' ? body.error.code : undefined;
    const message = typeof body?.error?.message === 'string' ? body.error.message : undefined;
    if (code || message) return { code, message };
  } catch {
    // not JSON: fall through
  }
  const trimmed = text.trim();
  return trimmed ? { message: trimmed.slice(0, 200) } : {};
}

/** Path only: stream URLs carry the token in their query string, which must stay out of logs. */
export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid URL)';
  }
}

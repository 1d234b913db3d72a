/**
 * One Dialogflow CX `sessions.detectIntent` exchange over REST (v3): POST JSON with a Google OAuth
 * Bearer token, a deadline on the call clock, and errors that name Dialogflow CX, the agent, the
 * HTTP status and Google's error body (`{"error":{"code","message","status"}}`).
 */
import type { Clock } from '../../runtime/clock.js';
import { postWithDeadline } from '../deadline-post.js';

export type DialogflowCxErrorKind = 'auth' | 'not-found' | 'invalid-argument' | 'rate-limited' | 'unavailable' | 'http' | 'timeout' | 'network' | 'malformed' | 'config';

/** Dialogflow CX did not answer a query usefully; the message names the agent and the status. */
export class DialogflowCxError extends Error {
  override name = 'DialogflowCxError';
  constructor(
    readonly kind: DialogflowCxErrorKind,
    message: string,
    readonly status?: number,
    /** google.rpc.Code name from the error body, e.g. PERMISSION_DENIED. */
    readonly rpcStatus?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface DetectIntentCall {
  url: string;
  accessToken: string;
  body: unknown;
  /** For messages: "detectIntent (event welcome)", "detectIntent (text)". */
  what: string;
  timeoutMs: number;
  clock: Clock;
  /** Aborted when the call ends: the request is dropped, not reported. */
  signal?: AbortSignal;
}

/** The parsed JSON of a 2xx answer. */
export async function postDetectIntent(call: DetectIntentCall): Promise<unknown> {
  const answer = await postWithDeadline({
    url: call.url,
    headers: { authorization: `Bearer ${call.accessToken}`, 'content-type': 'application/json; charset=utf-8', accept: 'application/json' },
    body: JSON.stringify(call.body),
    timeoutMs: call.timeoutMs,
    clock: call.clock,
    signal: call.signal,
  });
  if ('failure' in answer) {
    const cause = { cause: answer.error };
    if (answer.failure === 'timeout') throw new DialogflowCxError('timeout', `${call.what} got no answer within ${call.timeoutMs} ms`, undefined, undefined, cause);
    if (answer.failure === 'ended') throw new DialogflowCxError('network', `${call.what} aborted: the call ended`, undefined, undefined, cause);
    throw new DialogflowCxError('network', `${call.what} failed: ${answer.detail}`, undefined, undefined, cause);
  }
  const { status, text } = answer;
  if (status < 200 || status >= 300) throw statusError(call.what, status, text);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new DialogflowCxError('malformed', `${call.what} answered ${status} with a body that is not JSON (${(err as Error).message}): ${JSON.stringify(text.slice(0, 80))}`, status);
  }
}

function statusError(what: string, status: number, text: string): DialogflowCxError {
  const { rpcStatus, message } = googleError(text);
  const detail = rpcStatus || message ? `: ${[rpcStatus, message].filter(Boolean).join(' - ')}` : '';
  const base = `${what} answered ${status}${detail}`;
  if (status === 401) return new DialogflowCxError('auth', `${base} (the access token was refused; check the service-account credentials)`, status, rpcStatus);
  if (status === 403) return new DialogflowCxError('auth', `${base} (the service account needs the Dialogflow API Client role on the project, and the Dialogflow API must be enabled)`, status, rpcStatus);
  if (status === 404) return new DialogflowCxError('not-found', `${base} (check project, location, agent and environment)`, status, rpcStatus);
  if (status === 400) return new DialogflowCxError('invalid-argument', base, status, rpcStatus);
  if (status === 429) return new DialogflowCxError('rate-limited', `${base} (quota exceeded)`, status, rpcStatus);
  if (status >= 500) return new DialogflowCxError('unavailable', base, status, rpcStatus);
  return new DialogflowCxError('http', base, status, rpcStatus);
}

/** Google's error body; front ends may answer HTML or nothing. */
function googleError(text: string): { rpcStatus?: string; message?: string } {
  try {
    const body = JSON.parse(text) as { error?: { status?: unknown; message?: unknown } };
    const rpcStatus = typeof body?.error?.status === 'string' ? body.error.status : undefined;
    const message = typeof body?.error?.message === 'string' ? body.error.message : undefined;
    if (rpcStatus || message) return { rpcStatus, message };
  } catch {
    // not JSON: fall through
  }
  const trimmed = text.trim();
  return trimmed ? { message: trimmed.slice(0, 200) } : {};
}

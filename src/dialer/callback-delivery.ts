/** One signed POST of a status callback, and what its answer means for the outbox. */
import type { Clock } from '../runtime/clock.js';
import { IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER, signVoxgateCallback, TIMESTAMP_HEADER } from './callback-signature.js';
import { parseRetryAfter } from './callback-retry-policy.js';

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  /** Worth trying again: 408, 429, 5xx, network failure, timeout. */
  | { kind: 'retry'; error: string; status?: number; retryAfterMs?: number }
  /** Trying again cannot help: other 4xx, redirects, a URL that cannot be sent to. */
  | { kind: 'permanent'; error: string; status?: number };

export interface CallbackAttempt {
  url: string;
  body: string;
  idempotencyKey: string;
  secret: string;
  clock: Clock;
  timeoutMs: number;
  userAgent: string;
  /** Aborted when the notifier shuts down. */
  shutdown: AbortSignal;
}

/** How much of a failing receiver's answer goes into last_error. */
const ERROR_BODY_BYTES = 300;

/** Why a URL cannot take callbacks, or undefined when it can. */
export function callbackUrlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string' || url.trim() === '') return `callback URL must be a non-empty string, got ${describe(url)}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `callback URL ${JSON.stringify(url.slice(0, 200))} is not a valid absolute URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `callback URL ${JSON.stringify(url.slice(0, 200))} must use http or https, not ${parsed.protocol.replace(/:$/, '')}`;
  }
  return undefined;
}

export async function deliverCallback(attempt: CallbackAttempt): Promise<DeliveryOutcome> {
  const urlProblem = callbackUrlProblem(attempt.url);
  if (urlProblem) return { kind: 'permanent', error: urlProblem };

  const timeout = new AbortController();
  const timer = attempt.clock.setTimeout(() => timeout.abort(), attempt.timeoutMs);
  const signal = AbortSignal.any([timeout.signal, attempt.shutdown]);
  const timestamp = Math.floor(attempt.clock.now() / 1000);
  try {
    const res = await fetch(attempt.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': attempt.userAgent,
        [IDEMPOTENCY_KEY_HEADER]: attempt.idempotencyKey,
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signVoxgateCallback(attempt.secret, timestamp, attempt.body),
      },
      body: attempt.body,
      // A redirected POST would be replayed as a GET by fetch, and the signature names the original URL: do not follow.
      redirect: 'manual',
      signal,
    });
    if (res.status >= 200 && res.status < 300) {
      // Delivered once the status line is in: a body cut short afterwards does not undo that.
      await res.body?.cancel().catch(() => undefined);
      return { kind: 'delivered', status: res.status };
    }
    const snippet = await readSnippet(res).catch(() => '');
    return classify(res, snippet, attempt.clock.now());
  } catch (err) {
    if (timeout.signal.aborted) return { kind: 'retry', error: `no answer within ${attempt.timeoutMs} ms` };
    if (attempt.shutdown.aborted) return { kind: 'retry', error: 'interrupted by shutdown' };
    return { kind: 'retry', error: `request failed: ${networkErrorText(err)}` };
  } finally {
    timer.cancel();
  }
}

function classify(res: Response, snippet: string, now: number): DeliveryOutcome {
  const status = res.status;
  const error = `HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retry', error, status, retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), now) };
  }
  if (status >= 300 && status < 400) {
    const location = res.headers.get('location');
    return { kind: 'permanent', status, error: `HTTP ${status}: redirects are not followed${location ? ` (Location: ${location})` : ''}; configure the final URL` };
  }
  return { kind: 'permanent', error, status };
}

/** The start of the answer's body as text (the rest is discarded so the connection is freed). */
async function readSnippet(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8');
  return text.replace(/\s+/g, ' ').trim();
}

/** fetch reports every network failure as "fetch failed"; the useful part (ECONNREFUSED, socket hang up...) is the cause. */
function networkErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: string }).code;
    return `${cause.message || cause.name}${code && !cause.message.includes(code) ? ` (${code})` : ''}`;
  }
  return err.message || err.name;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

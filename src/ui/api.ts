/**
 * The console's API client: every request carries the token kept in sessionStorage (cleared
 * when the tab closes); a 401 drops it so the console shows the login page again. Requests use
 * credentials 'omit': the token is the only credential, and no 401 challenge opens a browser dialog.
 */
const TOKEN_KEY = 'voxgate.console.token';
const listeners = new Set<() => void>();

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
  for (const listener of listeners) listener();
}

export function onTokenChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The message of an error answer: the API's JSON `error` (with its description) as it came, else the text. */
export async function errorMessage(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown; message?: unknown };
    // The management API answers {error}; the OAuth token endpoint {error, error_description} (RFC 6749 §5.2).
    if (typeof body.error_description === 'string') return `${String(body.error)}: ${body.error_description}`;
    if (typeof body.error === 'string') return body.error;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: the text itself
  }
  return text || `HTTP ${res.status}`;
}

export function authHeaders(token = getToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Sends a request to the gateway; resolves with the JSON body (undefined for 204), rejects with ApiError. */
export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders(), accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'omit', body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (res.status === 401) {
    const message = await errorMessage(res);
    setToken(null);
    throw new ApiError(401, message);
  }
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Fetches a binary resource with the token (an <audio src> cannot send the Authorization header). */
export async function apiBlob(path: string): Promise<Blob> {
  const res = await fetch(path, { headers: authHeaders(), credentials: 'omit' });
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  return res.blob();
}

/**
 * OAuth 2.0 client credentials grant (RFC 6749 §4.4), client_secret_post (§2.3.1). The endpoint's
 * 401 carries a Basic challenge; credentials 'omit' keeps the browser from answering it with its
 * own password dialog (Fetch spec: the prompt needs the include-credentials flag).
 */
export async function fetchClientToken(clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch('/oauth/token', {
    method: 'POST',
    credentials: 'omit',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
  });
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  const body = (await res.json()) as { access_token?: unknown };
  if (typeof body.access_token !== 'string') throw new ApiError(res.status, 'the token endpoint answered without an access_token');
  return body.access_token;
}

/** A static token has no endpoint of its own: a read the token may be refused (403) still proves it is valid. */
export async function checkToken(token: string): Promise<void> {
  const res = await fetch('/api/v1/calls/live', { headers: authHeaders(token), credentials: 'omit' });
  if (res.status === 401) throw new ApiError(401, await errorMessage(res));
  if (!res.ok && res.status !== 403) throw new ApiError(res.status, await errorMessage(res));
}

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/**
 * Reads a text/event-stream with fetch, since EventSource cannot send an Authorization header.
 * Resolves when the stream ends; rejects on HTTP errors. Abort with the signal.
 */
export async function readEventStream(path: string, onEvent: (e: SseEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<void> {
  const res = await fetch(path, { headers: { ...authHeaders(), accept: 'text/event-stream' }, credentials: 'omit', signal });
  if (!res.ok || !res.body) throw new ApiError(res.status, await errorMessage(res));
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end: number;
    // Events are separated by a blank line; lines starting with ':' are comments (keep-alives).
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.event = val;
        else if (field === 'id') event.id = val;
        else if (field === 'data') data.push(val);
      }
      if (data.length === 0) continue;
      event.data = data.join('\n');
      onEvent(event);
    }
  }
}

/**
 * A local double of OpenAI's transcription endpoint (`POST /v1/audio/transcriptions`, multipart/form-data).
 *
 * Like OpenAI it answers 401 with an `{ error: { message, type, param, code } }` body when the
 * `Authorization: Bearer <key>` header is missing or wrong, 400 when `file` or `model` is missing, the
 * file is not audio, or `language` is not ISO-639-1; `response_format: json` gets `{ text }`, and
 * `stream: true` gets server-sent events (`transcript.text.delta`..., then `transcript.text.done`).
 *
 * The double cannot recognize speech: a test scripts each answer in request order (reply, fail, raw
 * body, hang, cut), and may hold an answer until it calls release() to reorder completions.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { FakeVendorServer, receive, RequestLog } from './fake-vendor-server.js';
import { parseWav, type WavAudio } from '../../src/media/wav.js';

export type TranscriptionScript =
  | { kind: 'text'; text: string; deltas?: string[]; held?: boolean }
  | { kind: 'error'; status: number; body: string; contentType?: string }
  | { kind: 'raw'; status: number; body: string; contentType: string }
  | { kind: 'hang' }
  /** Streams these deltas (or a partial JSON body) and then destroys the socket. */
  | { kind: 'cut'; deltas?: string[] };

export interface TranscriptionRequest {
  headers: IncomingHttpHeaders;
  /** The text fields of the form (model, language, prompt, response_format, stream...). */
  fields: Record<string, string>;
  fileName: string;
  fileType: string;
  audio: WavAudio;
  /** Lets a held answer go. */
  release(): void;
  /** Resolves once the answer was written out (or the connection went away). */
  answered: Promise<void>;
}

const OPENAI_INVALID_KEY = (key: string) => ({
  error: {
    message: `Incorrect API key provided: ${key.slice(0, 3)}***${key.slice(-2)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
});
const OPENAI_NO_KEY = {
  error: {
    message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    type: 'invalid_request_error',
    param: null,
    code: null,
  },
};

export function openAiError(message: string, type: string, code: string | null, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

export class OpenAiTranscriptionServer {
  private readonly accepted = new RequestLog<TranscriptionRequest>();
  private readonly refusals = new RequestLog<{ status: number; body: string }>();
  readonly requests = this.accepted.entries;
  /** Requests rejected before a script was used (auth, validation), with their status. */
  readonly rejected = this.refusals.entries;
  private readonly scripts: TranscriptionScript[] = [];
  private readonly server = new FakeVendorServer(
    async (req, res) => {
      const received = await receive(req);
      await this.handle(received.method, received.url, received.headers, received.raw, res);
    },
    { onRouteError: (err, res) => res.writeHead(500, { 'content-type': 'application/json' }).end(openAiError(String(err), 'server_error', null)) },
  );

  private constructor(readonly apiKey: string | undefined) {}

  /** `null` runs it like a self-hosted server that checks no key. */
  static async start(apiKey: string | null = 'sk-test-key'): Promise<OpenAiTranscriptionServer> {
    const server = new OpenAiTranscriptionServer(apiKey ?? undefined);
    await server.server.listen();
    return server;
  }

  /** The `baseUrl` to give the provider. */
  get url(): string {
    return `${this.server.origin}/v1`;
  }

  /** Scripts the answer to the next request: the transcript the "model" heard. */
  reply(text: string, options: { deltas?: string[]; held?: boolean } = {}): void {
    this.scripts.push({ kind: 'text', text, ...options });
  }

  /** Scripts an error answer (status + body), e.g. a 429 or 500 in OpenAI's shape. */
  fail(status: number, body: string, contentType = 'application/json'): void {
    this.scripts.push({ kind: 'error', status, body, contentType });
  }

  raw(status: number, body: string, contentType: string): void {
    this.scripts.push({ kind: 'raw', status, body, contentType });
  }

  /** The next request never gets an answer. */
  hang(): void {
    this.scripts.push({ kind: 'hang' });
  }

  /** The next request gets a 200 whose body stops half-way (the connection is destroyed). */
  cut(deltas?: string[]): void {
    this.scripts.push(deltas ? { kind: 'cut', deltas } : { kind: 'cut' });
  }

  /** Resolves with the n-th accepted request (0-based), waiting for it if needed. */
  request(index = 0): Promise<TranscriptionRequest> {
    return this.accepted.nth(index);
  }

  /** Resolves once `count` requests were rejected (auth or validation). */
  async rejection(count = 1): Promise<void> {
    await this.refusals.atLeast(count);
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  private reject(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    this.refusals.add({ status, body });
  }

  private async handle(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer, res: ServerResponse): Promise<void> {
    const path = new URL(url, 'http://127.0.0.1').pathname;
    if (path !== '/v1/audio/transcriptions') {
      return this.reject(res, 404, openAiError(`Invalid URL (${method} ${path})`, 'invalid_request_error', null));
    }
    if (method !== 'POST') return this.reject(res, 405, openAiError(`Invalid method ${method}`, 'invalid_request_error', null));
    if (this.apiKey !== undefined) {
      const auth = headers.authorization;
      if (!auth) return this.reject(res, 401, JSON.stringify(OPENAI_NO_KEY));
      const key = auth.replace(/^Bearer\s+/i, '');
      if (key !== this.apiKey) return this.reject(res, 401, JSON.stringify(OPENAI_INVALID_KEY(key)));
    }
    const contentType = headers['content-type'] ?? '';
    if (!contentType.startsWith('multipart/form-data')) {
      return this.reject(res, 400, openAiError('Invalid Content-Type header, expected multipart/form-data', 'invalid_request_error', null));
    }
    // undici (Node's fetch) parses multipart bodies the way any HTTP server would.
    const form = await new Request('http://127.0.0.1/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body) }).formData();
    const fields: Record<string, string> = {};
    let file: File | undefined;
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') fields[name] = value;
      else if (name === 'file') file = value;
    }
    if (!file) return this.reject(res, 400, openAiError("Missing required parameter: 'file'.", 'invalid_request_error', 'missing_required_parameter', 'file'));
    if (!fields.model) return this.reject(res, 400, openAiError('you must provide a model parameter', 'invalid_request_error', null, 'model'));
    if (fields.language !== undefined && !/^[a-z]{2}$/.test(fields.language)) {
      return this.reject(
        res,
        400,
        openAiError(`Invalid language '${fields.language}'. Language parameter must be specified in ISO-639-1 format.`, 'invalid_request_error', 'invalid_language_format', 'language'),
      );
    }
    let audio: WavAudio;
    try {
      audio = parseWav(new Uint8Array(await file.arrayBuffer()));
    } catch {
      return this.reject(res, 400, openAiError('Invalid file format. Supported formats: flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav, webm', 'invalid_request_error', null, 'file'));
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const answered = new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
    });
    this.accepted.add({ headers, fields, fileName: file.name, fileType: file.type, audio, release, answered });

    const script = this.scripts.shift();
    if (!script) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(openAiError('no transcript scripted in the test double', 'server_error', null));
      return;
    }
    switch (script.kind) {
      case 'hang':
        return;
      case 'error':
        res.writeHead(script.status, { 'content-type': script.contentType ?? 'application/json' }).end(script.body);
        return;
      case 'raw':
        res.writeHead(script.status, { 'content-type': script.contentType }).end(script.body);
        return;
      case 'cut':
        if (fields.stream === 'true') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for (const delta of script.deltas ?? []) res.write(sseEvent({ type: 'transcript.text.delta', delta }));
        } else {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"text": "Hel');
        }
        // Let the written bytes leave before the connection drops.
        setImmediate(() => res.socket?.destroy());
        return;
      case 'text':
        if (script.held) await released;
        if (fields.stream === 'true') {
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
          for (const delta of script.deltas ?? [script.text]) res.write(sseEvent({ type: 'transcript.text.delta', delta }));
          res.end(sseEvent({ type: 'transcript.text.done', text: script.text }));
        } else {
          const json = fields.model.startsWith('gpt-4o')
            ? { text: script.text, usage: { type: 'tokens', input_tokens: 14, output_tokens: 8, total_tokens: 22 } }
            : { text: script.text };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        }
    }
  }
}

function sseEvent(payload: object): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/**
 * A local double of Google Cloud Speech-to-Text v1 synchronous recognition
 * (`POST /v1/speech:recognize`, JSON in and out).
 *
 * Like Google it authenticates with `?key=` (a wrong key is 400 INVALID_ARGUMENT with reason
 * API_KEY_INVALID, no credentials 403 PERMISSION_DENIED) or `Authorization: Bearer` (a wrong token is
 * 401 UNAUTHENTICATED), answers errors in Google's `{error:{code,message,status}}` envelope, checks
 * the RecognitionConfig (LINEAR16, 8000-48000 Hz, languageCode) and refuses more than 1 minute of
 * audio ("Sync input too long"). It decodes the base64 audio so tests can compare it with what was written.
 *
 * The double cannot recognize speech: a test scripts the answer to the next request with
 * nextTranscript() (or a failure with nextResponse()); with nothing scripted it answers as Google does
 * for silence, without `results`.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { randomInt } from 'node:crypto';
import { dropConnection, FakeVendorServer, receive, RequestLog } from './fake-vendor-server.js';

export interface RecognizeRequest {
  url: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: { config?: Record<string, unknown>; audio?: { content?: string } };
  /** The decoded audio (LINEAR16) of an accepted request. */
  samples: Int16Array;
  /** HTTP status the double answered (0 while held or when the connection was dropped). */
  status: number;
  /** Resolves when the client went away before the double answered (an aborted request). */
  abandoned: Promise<void>;
}

export type ScriptedAnswer =
  /** One result per string (Google splits long speech into several results). */
  | { results: string[]; confidence?: number }
  | { status: number; body: string; contentType?: string }
  /** Close the TCP connection without an answer. */
  | { drop: true }
  /** Never answer (until the server closes). */
  | { hang: true };

interface Scripted {
  answer: ScriptedAnswer;
  /** Answer only once this settles (to answer requests out of order). */
  after?: Promise<unknown>;
}

const GRPC_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** Google's JSON error envelope. */
export function googleErrorBody(code: number, message: string, details?: unknown[]): string {
  return JSON.stringify({ error: { code, message, status: GRPC_STATUS[code] ?? 'UNKNOWN', ...(details ? { details } : {}) } }, null, 2);
}

export class GoogleSttServer {
  private readonly log = new RequestLog<RecognizeRequest>();
  readonly requests = this.log.entries;
  private readonly script: Scripted[] = [];
  private readonly server = new FakeVendorServer(async (req, res) => {
    const received = await receive(req);
    await this.handle(received.url, received.method, received.headers, received.raw, res);
  });

  private constructor(private readonly credentials: { apiKey?: string; accessToken?: string }) {}

  static async start(credentials: { apiKey?: string; accessToken?: string } = { apiKey: 'google-test-key' }): Promise<GoogleSttServer> {
    const server = new GoogleSttServer(credentials);
    await server.server.listen();
    return server;
  }

  get url(): string {
    return this.server.origin;
  }

  /** Scripts what the caller said in the next utterance; several strings come back as several results. */
  nextTranscript(text: string | string[], options: { confidence?: number; after?: Promise<unknown> } = {}): void {
    this.script.push({ answer: { results: Array.isArray(text) ? text : [text], confidence: options.confidence }, after: options.after });
  }

  /** Scripts a raw answer (an error, a malformed body, a dropped connection, no answer). */
  nextResponse(answer: ScriptedAnswer, after?: Promise<unknown>): void {
    this.script.push({ answer, after });
  }

  /** Resolves with the n-th recognize request (0-based) once it arrived. */
  request(index = 0): Promise<RecognizeRequest> {
    return this.log.nth(index);
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  private async handle(url: string, method: string, headers: IncomingHttpHeaders, raw: Buffer, res: ServerResponse): Promise<void> {
    const parsedUrl = new URL(url, 'http://127.0.0.1');
    const abandoned = new Promise<void>((resolve) => res.once('close', () => !res.writableFinished && resolve()));
    const record: RecognizeRequest = { url, query: parsedUrl.searchParams, headers, body: {}, samples: new Int16Array(0), status: 0, abandoned };
    const reply = (status: number, body: string): void => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(body);
    };
    const error = (code: number, message: string, details?: unknown[]): void => reply(code, googleErrorBody(code, message, details));

    if (parsedUrl.pathname !== '/v1/speech:recognize') {
      this.record(record);
      return error(404, `Method not found: ${parsedUrl.pathname}`);
    }
    if (method !== 'POST') {
      this.record(record);
      return error(404, 'The requested URL was not found on this server.');
    }
    const key = parsedUrl.searchParams.get('key');
    const authorization = headers.authorization;
    if (authorization !== undefined) {
      if (authorization !== `Bearer ${this.credentials.accessToken}` || this.credentials.accessToken === undefined) {
        this.record(record);
        return error(
          401,
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        );
      }
    } else if (key === null) {
      this.record(record);
      return error(403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.');
    } else if (key !== this.credentials.apiKey || this.credentials.apiKey === undefined) {
      this.record(record);
      return error(400, 'API key not valid. Please pass a valid API key.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'speech.googleapis.com' } },
      ]);
    }

    try {
      record.body = JSON.parse(raw.toString('utf8')) as RecognizeRequest['body'];
    } catch {
      this.record(record);
      return error(400, `Invalid JSON payload received. Unexpected token.\n${raw.toString('utf8').slice(0, 40)}\n^`);
    }
    const config = record.body.config;
    const content = record.body.audio?.content;
    const rate = config?.sampleRateHertz;
    const invalid =
      config === undefined
        ? 'Invalid recognition \'config\': request must contain \'config\' field.'
        : config.encoding !== 'LINEAR16'
          ? `Invalid recognition 'config': bad encoding ${String(config.encoding)}.`
          : typeof rate !== 'number' || rate < 8000 || rate > 48000
            ? 'Invalid recognition \'config\': sample_rate_hertz must be between 8000 and 48000 for LINEAR16.'
            : typeof config.languageCode !== 'string' || config.languageCode === ''
              ? 'Invalid recognition \'config\': language_code is required.'
              : typeof content !== 'string' || content === ''
                ? 'RecognitionAudio not set.'
                : undefined;
    if (invalid) {
      this.record(record);
      return error(400, invalid);
    }
    const bytes = Buffer.from(content!, 'base64');
    record.samples = new Int16Array(Math.floor(bytes.length / 2));
    for (let i = 0; i < record.samples.length; i++) record.samples[i] = bytes.readInt16LE(i * 2);
    const seconds = record.samples.length / (rate as number);
    if (seconds > 60) {
      this.record(record);
      return error(400, 'Sync input too long. For audio longer than 1 min use LongRunningRecognize with a \'uri\' parameter.');
    }

    const scripted = this.script.shift();
    this.record(record);
    if (scripted?.after) await scripted.after;
    const answer = scripted?.answer;
    if (answer && 'drop' in answer) return dropConnection(res);
    if (answer && 'hang' in answer) return;
    if (answer && 'status' in answer) {
      record.status = answer.status;
      res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json; charset=UTF-8' }).end(answer.body);
      return;
    }
    const billed = `${Math.max(1, Math.ceil(seconds))}s`;
    const requestId = String(randomInt(1, 2 ** 47));
    if (!answer || answer.results.length === 0) return reply(200, JSON.stringify({ totalBilledTime: billed, requestId }));
    const punctuate = config!.enableAutomaticPunctuation === true;
    const step = seconds / answer.results.length;
    const results = answer.results.map((said, i) => ({
      alternatives: [
        {
          // Google starts every result after the first with a space.
          transcript: `${i > 0 ? ' ' : ''}${punctuate ? said : said.replace(/[^\p{L}\p{N}'\s]/gu, '').toLowerCase()}`,
          confidence: answer.confidence ?? 0.92,
        },
      ],
      resultEndTime: `${(step * (i + 1)).toFixed(3)}s`,
      languageCode: (config!.languageCode as string).toLowerCase(),
    }));
    reply(200, JSON.stringify({ results, totalBilledTime: billed, requestId }));
  }

  private record(record: RecognizeRequest): void {
    this.log.add(record);
  }
}

/**
 * A local double of Azure AI Speech's REST API for short audio
 * (`POST /speech/recognition/conversation/cognitiveservices/v1?language=..&format=detailed`) and its
 * token service (`POST /sts/v1.0/issueToken`).
 *
 * Like Azure it authenticates with `Ocp-Apim-Subscription-Key` or `Authorization: Bearer <issued
 * token>` and answers a bad one with 401 (and no credentials with 403) before taking the audio (no
 * 100 Continue), requires `language` and the 16 kHz PCM WAV content type, accepts chunked uploads
 * with `Expect: 100-continue`, and parses the WAV it receives. It records every body chunk as it
 * arrives, so a test can see audio streaming before the utterance ended.
 *
 * The double cannot recognize speech: a test scripts the answer to the next request with
 * nextRecognition() (or another RecognitionStatus or a failure with nextResponse()); with nothing
 * scripted it answers `InitialSilenceTimeout` as Azure does for silence.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { parseWav, type WavAudio } from '../../src/media/wav.js';
import { dropConnection, FakeVendorServer, RequestLog } from './fake-vendor-server.js';

export interface AzureRecognitionRequest {
  url: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Body bytes received so far (WAV header included). */
  bytesReceived: number;
  /** The WAV once the body ended. */
  wav?: WavAudio;
  /** HTTP status answered (0 until then, or when dropped). */
  status: number;
  /** Resolves when the client went away before the double answered (an aborted request). */
  abandoned: Promise<void>;
  /** Resolves once at least `bytes` of body arrived. */
  waitForBytes(bytes: number): Promise<void>;
}

export type AzureScriptedAnswer =
  /** `answerAfterBytes`: answer as soon as that much body arrived, as Azure does when it hears the phrase end before the upload ends. */
  | { text: string; confidence?: number; lexical?: string; itn?: string; answerAfterBytes?: number }
  | { recognitionStatus: 'NoMatch' | 'InitialSilenceTimeout' | 'BabbleTimeout' | 'Error' }
  | { status: number; body: string; contentType?: string }
  | { drop: true }
  | { hang: true };

const SUBSCRIPTION_KEY_ERROR = JSON.stringify({
  error: {
    code: '401',
    message:
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
  },
});

export class AzureSttServer {
  readonly tokenRequests: Array<{ headers: IncomingHttpHeaders; status: number }> = [];
  private readonly issuedTokens = new Set<string>();
  private readonly script: Array<{ answer: AzureScriptedAnswer; after?: Promise<unknown> }> = [];
  private readonly log = new RequestLog<AzureRecognitionRequest>();
  readonly requests = this.log.entries;
  private readonly server = new FakeVendorServer((req, res) => this.route(req, res, false));

  private constructor(readonly key: string) {
    // Node calls this instead of the request handler for `Expect: 100-continue`: check auth before accepting the body.
    this.server.onExpectContinue((req, res) => this.route(req, res, true));
  }

  static async start(key = 'azure-test-key'): Promise<AzureSttServer> {
    const server = new AzureSttServer(key);
    await server.server.listen();
    return server;
  }

  get url(): string {
    return this.server.origin;
  }

  /** Scripts the transcript of the next request (Display = text; Lexical/ITN derived unless given). */
  nextRecognition(
    text: string,
    options: { confidence?: number; lexical?: string; itn?: string; answerAfterBytes?: number; after?: Promise<unknown> } = {},
  ): void {
    const { after, ...rest } = options;
    this.script.push({ answer: { text, ...rest }, after });
  }

  nextResponse(answer: AzureScriptedAnswer, after?: Promise<unknown>): void {
    this.script.push({ answer, after });
  }

  /** Invalidates every issued token, as if they expired. */
  expireTokens(): void {
    this.issuedTokens.clear();
  }

  request(index = 0): Promise<AzureRecognitionRequest> {
    return this.log.nth(index);
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  private route(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/sts/v1.0/issueToken') return this.issueToken(req, res);
    if (req.method === 'POST' && url.pathname === '/speech/recognition/conversation/cognitiveservices/v1') {
      return this.recognize(req, res, url, expectsContinue);
    }
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: '404', message: 'Resource not found' } }));
  }

  private issueToken(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (req.headers['ocp-apim-subscription-key'] !== this.key) {
      this.tokenRequests.push({ headers: req.headers, status: 401 });
      res.writeHead(401, { 'content-type': 'application/json' }).end(SUBSCRIPTION_KEY_ERROR);
      return;
    }
    const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ region: 'local', exp: Math.floor(Date.now() / 1000) + 600 })}.${randomBytes(32).toString('base64url')}`;
    this.issuedTokens.add(token);
    this.tokenRequests.push({ headers: req.headers, status: 200 });
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(token);
  }

  private recognize(req: IncomingMessage, res: ServerResponse, url: URL, expectsContinue: boolean): void {
    const chunks: Buffer[] = [];
    const events = new EventEmitter();
    const abandoned = new Promise<void>((resolve) => res.once('close', () => !res.writableFinished && resolve()));
    const record: AzureRecognitionRequest = {
      url: req.url ?? '/',
      query: url.searchParams,
      headers: req.headers,
      bytesReceived: 0,
      status: 0,
      abandoned,
      waitForBytes: (bytes) =>
        new Promise((resolve) => {
          const check = (): void => {
            if (record.bytesReceived < bytes) return;
            events.off('data', check);
            resolve();
          };
          events.on('data', check);
          check();
        }),
    };
    const answer = (status: number, body: string, contentType = 'application/json; charset=utf-8'): void => {
      record.status = status;
      res.writeHead(status, { 'content-type': contentType }).end(body);
    };
    const refuse = (status: number, body: string): void => {
      this.record(record);
      answer(status, body);
      // Like Azure, refuse before the audio: drain what the client already sent, then close.
      req.resume();
    };

    const key = req.headers['ocp-apim-subscription-key'];
    const authorization = req.headers.authorization;
    if (key === undefined && authorization === undefined) {
      return refuse(403, JSON.stringify({ error: { code: '403', message: 'Missing subscription key or authorization token.' } }));
    }
    const tokenOk = authorization !== undefined && authorization.startsWith('Bearer ') && this.issuedTokens.has(authorization.slice(7));
    if (!(key === this.key || tokenOk)) return refuse(401, SUBSCRIPTION_KEY_ERROR);
    const language = url.searchParams.get('language');
    if (!language) return refuse(400, JSON.stringify({ error: { code: 'BadArgument', message: 'Language code not provided.' } }));
    if (req.headers['content-type']?.replace(/\s/g, '') !== 'audio/wav;codecs=audio/pcm;samplerate=16000') {
      return refuse(400, JSON.stringify({ error: { code: 'BadArgument', message: `Unsupported audio format: ${String(req.headers['content-type'])}` } }));
    }

    this.record(record);
    if (expectsContinue) res.writeContinue();
    const scripted = this.script.shift();
    const early = scripted && 'text' in scripted.answer ? scripted.answer.answerAfterBytes : undefined;
    let answered = false;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      record.bytesReceived += chunk.byteLength;
      events.emit('data');
      if (early !== undefined && !answered && record.bytesReceived >= early) {
        answered = true;
        void this.answerRecognition(record, Buffer.concat(chunks), scripted, res, answer);
      }
    });
    req.on('end', () => {
      if (!answered) void this.answerRecognition(record, Buffer.concat(chunks), scripted, res, answer);
    });
  }

  private async answerRecognition(
    record: AzureRecognitionRequest,
    body: Buffer,
    scripted: { answer: AzureScriptedAnswer; after?: Promise<unknown> } | undefined,
    res: ServerResponse,
    answer: (status: number, body: string, contentType?: string) => void,
  ): Promise<void> {
    try {
      record.wav = parseWav(body);
    } catch (err) {
      return answer(400, JSON.stringify({ error: { code: 'BadArgument', message: `Invalid audio: ${(err as Error).message}` } }));
    }
    if (record.wav.sampleRate !== 16000) {
      return answer(400, JSON.stringify({ error: { code: 'BadArgument', message: 'Unsupported audio format: sample rate must be 16000' } }));
    }
    if (scripted?.after) await scripted.after;
    const script = scripted?.answer ?? { recognitionStatus: 'InitialSilenceTimeout' as const };
    if ('drop' in script) return dropConnection(res);
    if ('hang' in script) return;
    if ('status' in script) return answer(script.status, script.body, script.contentType);
    const ticks = Math.round((record.wav.samples.length / 16000) * 1e7);
    if ('recognitionStatus' in script) {
      return answer(200, JSON.stringify({ RecognitionStatus: script.recognitionStatus, Offset: script.recognitionStatus === 'Error' ? 0 : ticks, Duration: 0 }));
    }
    const lexical = script.lexical ?? script.text.toLowerCase().replace(/[^\p{L}\p{N}'\s]/gu, '');
    const itn = script.itn ?? lexical;
    const confidence = script.confidence ?? 0.93;
    answer(
      200,
      JSON.stringify({
        RecognitionStatus: 'Success',
        Offset: 400000,
        Duration: Math.max(0, ticks - 400000),
        DisplayText: script.text,
        NBest: [
          { Confidence: confidence, Lexical: lexical, ITN: itn, MaskedITN: itn, Display: script.text },
          { Confidence: confidence / 2, Lexical: `${lexical} uh`, ITN: `${itn} uh`, MaskedITN: `${itn} uh`, Display: `${script.text} Uh.` },
        ],
      }),
    );
  }

  private record(record: AzureRecognitionRequest): void {
    this.log.add(record);
  }
}

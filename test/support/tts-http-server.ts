/**
 * A loopback double of two TTS HTTP APIs:
 * - OpenAI speech, `POST /v1/audio/speech`: Bearer check (401 `{error:{message,type,code}}` as
 *   OpenAI sends), body validation (400), and `response_format: "pcm"` answered as raw 24 kHz PCM16 LE
 *   streamed in several chunks of odd byte sizes. A test may hand in gates the server awaits
 *   between chunks, to prove the client yields audio before the body ends.
 * - generic TTS, `POST /tts`: answered by the next queued GenericAnswer (WAV, L16, pcm, mu-law, JSON
 *   `{audio_url}` pointing at `GET /audio/<id>`, an error status, or any content type).
 * Every request is recorded with its headers and parsed body.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackDouble, neverAnswer, receive, sendJson, writeChunked } from './fake-vendor-server.js';
import { encodeMuLaw } from '../../src/media/g711.js';
import { encodeWav } from '../../src/media/wav.js';

export interface RecordedTtsRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

/** A sine tone: `ms` milliseconds at `hz`, amplitude 0.5 of full scale. */
export function tone(hz: number, ms: number, sampleRate: number): Int16Array {
  const n = Math.round((ms * sampleRate) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(16384 * Math.sin((2 * Math.PI * hz * i) / sampleRate));
  return out;
}

export function pcm16le(samples: Int16Array): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i], i * 2);
  return b;
}

export function pcm16be(samples: Int16Array): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) b.writeInt16BE(samples[i], i * 2);
  return b;
}

export { encodeWav, encodeMuLaw };

/** How a streaming TTS double plays its audio: a tone, written in pieces a test can hold back or cut. */
export interface ToneStreamScript {
  /** Tone frequency and length of the generated speech (default 440 Hz, 500 ms). */
  hz?: number;
  ms?: number;
  /** Pieces the body is written in, of odd byte sizes (default 5). */
  chunks?: number;
  /** gates[i] is awaited before piece i+1 is written. */
  gates?: Promise<void>[];
  /** Destroy the connection instead of writing piece `cutAfterChunks` (the server dies mid-body). */
  cutAfterChunks?: number;
}

/** Writes the script's tone at `rate` as the body, encoded by `encode` (PCM16 LE unless said otherwise). */
export function writeTone(res: ServerResponse, script: ToneStreamScript, rate: number, encode: (samples: Int16Array) => Uint8Array = pcm16le): Promise<void> {
  return writeChunked(res, encode(tone(script.hz ?? 440, script.ms ?? 500, rate)), script.chunks ?? 5, script.gates, script.cutAfterChunks);
}

/** How the generic endpoint answers one POST. */
export type GenericAnswer =
  /**
   * Audio bytes with this Content-Type, sent in `chunks` pieces (default 4). `stallAfterChunks`: after
   * that many pieces nothing more is written and the connection stays open (a vendor that stalled).
   */
  | { kind: 'audio'; contentType: string; bytes: Uint8Array; chunks?: number; gates?: Promise<void>[]; cutAfterChunks?: number; stallAfterChunks?: number }
  /** `{ audio_url }` pointing at the audio served by GET (relative path unless `absolute`). */
  | { kind: 'audio_url'; contentType: string; bytes: Uint8Array; absolute?: boolean; getStatus?: number }
  | { kind: 'status'; status: number; contentType?: string; body: string }
  /** Send headers (audio/wav) and then no body (for abort tests). */
  | { kind: 'hang' }
  /** Accept the request and never send even the headers (for the answer deadline). */
  | { kind: 'silent' };

export interface OpenAiSpeechScript {
  /** Tone frequency and length of the generated speech. */
  hz: number;
  ms: number;
  /** Chunks the 24 kHz body is split into (odd byte sizes). Default 5. */
  chunks?: number;
  /** gates[i] is awaited before chunk i+1 is written. */
  gates?: Promise<void>[];
  /** Answer with an error instead: status and OpenAI error JSON. */
  error?: { status: number; message: string; type: string; code?: string };
  /** Answer 200 with this JSON instead of audio (a proxy or a server that ignored response_format). */
  okJson?: unknown;
}

export class TtsHttpDouble extends LoopbackDouble {
  readonly requests: RecordedTtsRequest[] = [];
  readonly genericAnswers: GenericAnswer[] = [];
  readonly speechScripts: OpenAiSpeechScript[] = [];
  /** Key the OpenAI endpoint requires; undefined accepts any (self-hosted servers without auth). */
  apiKey: string | undefined = 'sk-test-key';
  private audioById = new Map<string, { contentType: string; bytes: Uint8Array; status: number }>();
  private nextAudio = 1;


  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req);
    const recorded = { method: received.method, url: received.url, headers: received.headers, body: received.json as Record<string, unknown> | undefined };
    this.requests.push(recorded);
    await this.route(recorded, received.text, res);
  }

  private async route(req: RecordedTtsRequest, raw: string, res: ServerResponse): Promise<void> {
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === '/v1/audio/speech') return this.speech(req, raw, res);
    if (req.method === 'POST' && path === '/tts') return this.generic(res);
    if (req.method === 'GET' && path.startsWith('/audio/')) {
      const audio = this.audioById.get(path.slice('/audio/'.length));
      if (!audio) return sendJson(res, 404, { error: 'no such audio' });
      if (audio.status !== 200) return sendJson(res, audio.status, { error: 'audio gone' });
      res.writeHead(200, { 'content-type': audio.contentType });
      return writeChunked(res, audio.bytes, 3);
    }
    sendJson(res, 404, { error: `no route ${req.method} ${path}` });
  }

  private async speech(req: RecordedTtsRequest, raw: string, res: ServerResponse): Promise<void> {
    if (this.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.apiKey}`) {
      const given = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      return sendJson(res, 401, {
        error: {
          message: given
            ? `Incorrect API key provided: ${given.slice(0, 3)}***${given.slice(-2)}. You can find your API key at https://platform.openai.com/account/api-keys.`
            : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          type: 'invalid_request_error',
          param: null,
          code: given ? 'invalid_api_key' : null,
        },
      });
    }
    const body = req.body;
    if (!body) return openAiError(res, 400, `We could not parse the JSON body of your request. Body: ${raw.slice(0, 50)}`, 'invalid_request_error');
    for (const field of ['model', 'input', 'voice'] as const) {
      if (typeof body[field] !== 'string' || body[field] === '') {
        return openAiError(res, 400, `Missing required parameter: '${field}'.`, 'invalid_request_error', field);
      }
    }
    if (body.response_format !== 'pcm') {
      return openAiError(res, 400, `This double only serves response_format "pcm", got ${JSON.stringify(body.response_format)}`, 'invalid_request_error');
    }
    const script = this.speechScripts.shift() ?? { hz: 440, ms: 500 };
    if (script.error) return openAiError(res, script.error.status, script.error.message, script.error.type, null, script.error.code);
    if (script.okJson !== undefined) return sendJson(res, 200, script.okJson);
    res.writeHead(200, { 'content-type': 'audio/pcm', 'transfer-encoding': 'chunked' });
    await writeTone(res, script, 24000);
  }

  private async generic(res: ServerResponse): Promise<void> {
    const answer = this.genericAnswers.shift();
    if (!answer) return sendJson(res, 500, { error: 'no answer queued in the test double' });
    switch (answer.kind) {
      case 'hang':
        res.writeHead(200, { 'content-type': 'audio/wav' });
        res.flushHeaders();
        return new Promise<void>(() => {});
      case 'silent':
        return new Promise<void>(() => {});
      case 'status':
        res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain' });
        res.end(answer.body);
        return;
      case 'audio': {
        res.writeHead(200, { 'content-type': answer.contentType });
        const gates = [...(answer.gates ?? [])];
        if (answer.stallAfterChunks !== undefined) gates[answer.stallAfterChunks - 1] = neverAnswer();
        return writeChunked(res, answer.bytes, answer.chunks ?? 4, gates, answer.cutAfterChunks);
      }
      case 'audio_url': {
        const id = `a${this.nextAudio++}.raw`;
        this.audioById.set(id, { contentType: answer.contentType, bytes: answer.bytes, status: answer.getStatus ?? 200 });
        return sendJson(res, 200, { audio_url: answer.absolute ? `${this.url}/audio/${id}` : `/audio/${id}` });
      }
    }
  }
}

/** An error as OpenAI sends it: `{error:{message,type,param,code}}`. */
function openAiError(res: ServerResponse, status: number, message: string, type: string, param: string | null = null, code: string | null = null): void {
  sendJson(res, status, { error: { message, type, param, code } });
}

export async function startTtsHttpDouble(): Promise<TtsHttpDouble> {
  return new TtsHttpDouble().start();
}

/** Collects everything a synthesis yields. */
export async function collect(stream: AsyncIterable<Int16Array>): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  for await (const c of stream) parts.push(c);
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Dominant frequency estimate from positive-going zero crossings (enough for a clean tone). */
export function toneFrequency(samples: Int16Array, sampleRate: number): number {
  let crossings = 0;
  let first = -1;
  let last = -1;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1] < 0 && samples[i] >= 0) {
      if (first < 0) first = i;
      last = i;
      crossings++;
    }
  }
  return crossings < 2 ? 0 : ((crossings - 1) * sampleRate) / (last - first);
}

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

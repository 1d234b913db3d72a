/**
 * OpenAI-compatible transcription (`POST {baseUrl}/audio/transcriptions`, multipart/form-data): OpenAI
 * itself (whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe) and self-hosted Whisper servers that
 * copy the path (faster-whisper-server / speaches, whisper.cpp server, LocalAI...).
 *
 * The API transcribes whole files, not streams: a session keeps the audio of the current utterance
 * and uploads it as a WAV when local endpointing calls endOfUtterance(), giving one final result per
 * utterance. Uploads run concurrently but their results are delivered in utterance order. With
 * `stream: true` the server answers with server-sent events (`transcript.text.delta` then
 * `transcript.text.done`, as the gpt-4o-*-transcribe models do), delivered as interim results.
 */
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { encodeWav } from '../../media/wav.js';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { SttProvider, SttResult, SttSession, SttSessionEventMap, SttSessionOptions } from './provider.js';
import { UtteranceAudio } from './openai-utterance-audio.js';
import { serverSentEventData } from './openai-sse.js';
import { snippet } from './quoted-snippet.js';

const PROVIDER = 'OpenAI STT';
/** Whisper only looks at the last 224 tokens of the prompt; longer hint lists are cut at a phrase boundary. */
const MAX_PROMPT_CHARS = 800;
/** Error bodies are short JSON; cap what goes into a message. */
const MAX_ERROR_BODY = 4096;

export const openAiSttConfigSchema = z
  .object({
    /** API root, e.g. https://api.openai.com/v1 or http://whisper.local:8000/v1; /audio/transcriptions is appended. */
    baseUrl: z.string().url(),
    /** Sent as `Authorization: Bearer <apiKey>`; self-hosted servers may need none. */
    apiKey: secretSchema.optional(),
    /** whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe, or the self-hosted server's model name. */
    model: z.string().min(1),
    requestTimeoutMs: z.number().int().positive().optional(),
    /** Longest utterance uploaded; older audio is dropped (the latest part is kept). Default 30000. */
    maxUtteranceMs: z.number().int().min(1000).max(600_000).optional(),
    /** Ask for server-sent events and deliver interim results (gpt-4o-*-transcribe; whisper-1 does not stream). */
    stream: z.boolean().optional(),
  })
  .strict();
export type OpenAiSttConfig = z.infer<typeof openAiSttConfigSchema>;

export interface OpenAiTranscriptionOptions {
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Deadline for one upload, answer body included. Default 15000 ms. */
  requestTimeoutMs?: number;
  /** Default 30000 ms. */
  maxUtteranceMs?: number;
  stream?: boolean;
  /** RMS (PCM16 units) under which a 20 ms frame is silence: leading silence is not uploaded. Default 100; 0 keeps all. */
  silenceRms?: number;
  clock?: Clock;
  logger: Logger;
}

/** Provider options from the `openai` STT config section (the API key resolved from the environment if given as `{ env }`). */
export function openAiTranscriptionOptions(
  config: OpenAiSttConfig,
  deps: { logger: Logger; env?: NodeJS.ProcessEnv; clock?: Clock },
): OpenAiTranscriptionOptions {
  const apiKey = resolveSecret(config.apiKey, 'stt.openai.apiKey', deps.env ?? process.env);
  return { ...config, apiKey, logger: deps.logger, ...(deps.clock ? { clock: deps.clock } : {}) };
}

export class OpenAiTranscriptionProvider implements SttProvider {
  readonly name = 'openai';
  readonly endpoint: string;

  constructor(private readonly options: OpenAiTranscriptionOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`${PROVIDER}: baseUrl "${String(options.baseUrl)}" is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`${PROVIDER}: baseUrl "${options.baseUrl}" must use http or https`);
    }
    if (typeof options.model !== 'string' || options.model.trim() === '') {
      throw new TypeError(`${PROVIDER}: model must be a non-empty string (e.g. "whisper-1" or "gpt-4o-transcribe")`);
    }
    positiveOption('requestTimeoutMs', options.requestTimeoutMs);
    positiveOption('maxUtteranceMs', options.maxUtteranceMs);
    if (options.silenceRms !== undefined && !(Number.isFinite(options.silenceRms) && options.silenceRms >= 0)) {
      throw new TypeError(`${PROVIDER}: silenceRms must be a non-negative number, got ${String(options.silenceRms)}`);
    }
    this.endpoint = `${url.origin}${url.pathname.replace(/\/+$/, '')}/audio/transcriptions`;
  }

  startSession(options: SttSessionOptions): SttSession {
    return new OpenAiTranscriptionSession(this.options, this.endpoint, options);
  }
}

function positiveOption(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new TypeError(`${PROVIDER}: ${name} must be a positive number, got ${String(value)}`);
  }
}

/** ISO-639-1 code from a BCP-47 tag (en-US -> en); undefined lets the server detect the language. */
export function transcriptionLanguage(language: string): string | undefined {
  const primary = language.trim().split(/[-_]/)[0]!.toLowerCase();
  return /^[a-z]{2}$/.test(primary) ? primary : undefined;
}

/** The hints as a Whisper prompt: Whisper has no keyword boosting, but spelling in the prompt biases it. */
export function transcriptionPrompt(hints: string[] | undefined): string | undefined {
  let prompt = '';
  for (const hint of hints ?? []) {
    const phrase = hint.trim();
    if (phrase === '') continue;
    const next = prompt === '' ? phrase : `${prompt}, ${phrase}`;
    if (next.length > MAX_PROMPT_CHARS) break;
    prompt = next;
  }
  return prompt === '' ? undefined : prompt;
}

/**
 * Transcript without punctuation, for sessions that asked for none: Whisper and gpt-4o-transcribe
 * have no switch for it. Apostrophes inside words and separators inside numbers are kept.
 */
export function stripPunctuation(text: string): string {
  return text
    .replace(/\p{P}/gu, (mark: string, at: number, whole: string) => {
      const before = whole[at - 1] ?? '';
      const after = whole[at + 1] ?? '';
      if ((mark === "'" || mark === '’') && /\p{L}/u.test(before) && /\p{L}/u.test(after)) return mark;
      if ((mark === '.' || mark === ',' || mark === ':') && /\p{N}/u.test(before) && /\p{N}/u.test(after)) return mark;
      return ' ';
    })
    .replace(/\s+/g, ' ')
    .trim();
}

type SessionState = 'open' | 'failed' | 'closed';

/** One utterance on its way to the server; results wait here until earlier utterances delivered theirs. */
interface Upload {
  readonly controller: AbortController;
  readonly results: SttResult[];
  settled: boolean;
  failure?: { error: Error; terminal: boolean };
}

class UploadFailure extends Error {
  constructor(
    message: string,
    /** The session cannot work at all (bad key, wrong URL): later utterances are not uploaded. */
    readonly terminal = false,
  ) {
    super(message);
  }
}

export class OpenAiTranscriptionSession extends EventEmitter<SttSessionEventMap> implements SttSession {
  private state: SessionState = 'open';
  private readonly audio: UtteranceAudio | undefined;
  private readonly uploads: Upload[] = [];
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly punctuation: boolean;
  private readonly language: string | undefined;
  private readonly prompt: string | undefined;

  constructor(
    private readonly provider: OpenAiTranscriptionOptions,
    private readonly endpoint: string,
    options: SttSessionOptions,
  ) {
    super();
    this.clock = provider.clock ?? systemClock;
    this.log = provider.logger.child({ stt: 'openai' });
    this.timeoutMs = provider.requestTimeoutMs ?? 15_000;
    this.punctuation = options.punctuation ?? true;
    const invalid = validateSessionOptions(options);
    if (invalid) {
      this.state = 'failed';
      // Emit after the caller had a chance to attach listeners.
      queueMicrotask(() => this.emitFailure(new Error(`${PROVIDER}: ${invalid}`)));
      return;
    }
    this.language = transcriptionLanguage(options.language);
    if (this.language === undefined) {
      this.log.debug({ language: options.language }, 'language has no ISO-639-1 code; the server detects it');
    }
    this.prompt = transcriptionPrompt(options.hints);
    this.audio = new UtteranceAudio(options.sampleRate, provider.maxUtteranceMs ?? 30_000, provider.silenceRms ?? 100);
  }

  write(frame: Int16Array): void {
    if (this.state === 'open') this.audio?.push(frame);
  }

  endOfUtterance(): void {
    if (this.state !== 'open' || !this.audio) return;
    const utterance = this.audio.take();
    if (!utterance) return;
    if (utterance.droppedMs > 0) {
      this.log.info({ droppedMs: Math.round(utterance.droppedMs) }, 'utterance longer than maxUtteranceMs: its beginning was not uploaded');
    }
    const upload: Upload = { controller: new AbortController(), results: [], settled: false };
    this.uploads.push(upload);
    const wav = encodeWav(utterance.samples, this.audio.sampleRate);
    this.transcribe(upload, wav)
      .catch((err: unknown) => {
        upload.failure = { error: asUploadFailure(err, `POST ${this.endpoint}`), terminal: err instanceof UploadFailure && err.terminal };
      })
      .finally(() => {
        upload.settled = true;
        this.drain();
      })
      .catch((err: unknown) => this.log.error({ err }, 'openai stt result listener threw'));
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.audio?.clear();
    // In-flight uploads are abandoned: the caller hung up, nobody waits for their text.
    for (const upload of this.uploads.splice(0)) upload.controller.abort();
  }

  private async transcribe(upload: Upload, wav: Buffer): Promise<void> {
    const where = `POST ${this.endpoint}`;
    const form = new FormData();
    form.append('file', new Blob([wav as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), 'utterance.wav');
    form.append('model', this.provider.model);
    form.append('response_format', 'json');
    if (this.language) form.append('language', this.language);
    if (this.prompt) form.append('prompt', this.prompt);
    if (this.provider.stream) form.append('stream', 'true');
    const headers: Record<string, string> = { accept: this.provider.stream ? 'text/event-stream, application/json' : 'application/json' };
    if (this.provider.apiKey) headers.authorization = `Bearer ${this.provider.apiKey}`;

    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      upload.controller.abort();
    }, this.timeoutMs);
    try {
      const res = await fetch(this.endpoint, { method: 'POST', headers, body: form, signal: upload.controller.signal });
      if (!res.ok) throw await statusFailure(res, where);
      const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
      // Servers that ignore `stream` (whisper-1, most self-hosted ones) answer plain JSON: accept both.
      if (contentType.startsWith('text/event-stream')) await this.readEvents(upload, res, where);
      else this.deliverFinal(upload, parseTranscription(await res.text(), where, res.status));
    } catch (err) {
      if (this.state === 'closed') return;
      if (timedOut) throw new UploadFailure(`${PROVIDER}: ${where} gave no complete answer within ${this.timeoutMs} ms`);
      throw err;
    } finally {
      timer.cancel();
    }
  }

  private async readEvents(upload: Upload, res: Response, where: string): Promise<void> {
    if (!res.body) throw new UploadFailure(`${PROVIDER}: ${where} answered an event stream without a body`);
    let text = '';
    for await (const data of serverSentEventData(res.body as unknown as AsyncIterable<Uint8Array>)) {
      if (data.trim() === '[DONE]') break;
      let event: { type?: unknown; delta?: unknown; text?: unknown; error?: unknown };
      try {
        event = JSON.parse(data) as typeof event;
      } catch {
        throw new UploadFailure(`${PROVIDER}: ${where} sent an event that is not JSON: ${snippet(data)}`);
      }
      if (event.type === 'transcript.text.delta' && typeof event.delta === 'string') {
        text += event.delta;
        this.deliver(upload, { text, final: false });
      } else if (event.type === 'transcript.text.done') {
        this.deliverFinal(upload, typeof event.text === 'string' ? event.text : text);
        return;
      } else if (event.type === 'error' || event.error !== undefined) {
        throw new UploadFailure(`${PROVIDER}: ${where} reported an error in the event stream: ${describeErrorBody(data)}`);
      }
    }
    throw new UploadFailure(`${PROVIDER}: ${where} ended the event stream without transcript.text.done`);
  }

  private deliverFinal(upload: Upload, text: string): void {
    this.deliver(upload, { text, final: true });
  }

  private deliver(upload: Upload, raw: SttResult): void {
    const text = this.punctuation ? raw.text.trim() : stripPunctuation(raw.text);
    // Silence or noise transcribes to "" (or only punctuation): no result, as with the streaming providers.
    if (text === '' || this.state !== 'open') return;
    const last = upload.results[upload.results.length - 1];
    if (!raw.final && last && last.text === text) return;
    upload.results.push({ ...raw, text });
    if (this.uploads[0] === upload) this.drain();
  }

  /** Emits what the oldest uploads have, in utterance order, and reports their failures in the same order. */
  private drain(): void {
    while (this.uploads.length > 0 && this.state !== 'closed') {
      const head = this.uploads[0]!;
      for (const result of head.results.splice(0)) this.emit('result', result);
      if (!head.settled) return;
      this.uploads.shift();
      if (head.failure) {
        if (head.failure.terminal && this.state === 'open') {
          this.state = 'failed';
          this.audio?.clear();
        }
        this.emitFailure(head.failure.error);
      }
    }
  }

  private emitFailure(error: Error): void {
    this.log.warn({ err: error.message }, 'openai stt failed');
    this.emit('failure', error);
  }
}

function validateSessionOptions(options: SttSessionOptions): string | undefined {
  if (!Number.isInteger(options.sampleRate) || options.sampleRate <= 0) {
    return `sampleRate must be a positive integer, got ${String(options.sampleRate)}`;
  }
  if (typeof options.language !== 'string' || options.language.trim() === '') {
    return 'language must be a non-empty string (e.g. "en-US")';
  }
  return undefined;
}

/** `response_format: json` answers `{ "text": "..." }` (gpt-4o models add usage/logprobs). */
function parseTranscription(body: string, where: string, status: number): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new UploadFailure(`${PROVIDER}: ${where} answered ${status} with a body that is not JSON: ${snippet(body)}`);
  }
  const text = (json as { text?: unknown } | null)?.text;
  if (typeof text !== 'string') {
    throw new UploadFailure(`${PROVIDER}: ${where} answered JSON without a "text" string: ${snippet(body)}`);
  }
  return text;
}

async function statusFailure(res: Response, where: string): Promise<UploadFailure> {
  let body = '';
  try {
    body = (await res.text()).slice(0, MAX_ERROR_BODY);
  } catch {
    // the status alone still says what happened
  }
  const hint =
    res.status === 401 ? ' (invalid or missing API key)'
    : res.status === 403 ? ' (API key lacks access to this model)'
    : res.status === 404 ? ' (wrong baseUrl or unknown model)'
    : res.status === 429 ? ' (rate limit or quota exceeded)'
    : res.status >= 500 ? ' (server error)'
    : '';
  const terminal = res.status === 401 || res.status === 403 || res.status === 404;
  return new UploadFailure(
    `${PROVIDER}: ${where} answered HTTP ${res.status}${hint}: ${body.trim() === '' ? '(empty body)' : describeErrorBody(body)}`,
    terminal,
  );
}

/** OpenAI errors are `{ error: { message, type, code } }`; self-hosted servers send `{ detail }` or text. */
function describeErrorBody(body: string): string {
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown; type?: unknown; code?: unknown } | string; detail?: unknown };
    if (json.error && typeof json.error === 'object' && typeof json.error.message === 'string') {
      const kind = [json.error.type, json.error.code].filter((v) => typeof v === 'string' && v !== '').join('/');
      return `${json.error.message}${kind ? ` (${kind})` : ''}`;
    }
    if (typeof json.error === 'string') return json.error;
    if (json.detail !== undefined) return typeof json.detail === 'string' ? json.detail : JSON.stringify(json.detail);
  } catch {
    // not JSON: the text itself is the best description
  }
  return snippet(body);
}

function asUploadFailure(err: unknown, where: string): Error {
  if (err instanceof UploadFailure) return err;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  const detail = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return new UploadFailure(`${PROVIDER}: ${where} failed${code}: ${detail}`);
}

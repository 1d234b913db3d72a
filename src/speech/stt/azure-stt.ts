/**
 * Azure AI Speech, REST API for short audio
 * (`POST https://{region}.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1`).
 *
 * One request per caller utterance: it opens at the first loud frame (with a short pre-roll) and the
 * audio streams as a 16 kHz WAV with chunked transfer encoding while the caller speaks; the body ends
 * when local endpointing calls endOfUtterance(), and Azure answers with one final result (`format=detailed`).
 * The short-audio API gives no interim results, takes at most 60 s of audio and has no phrase list
 * (hints are ignored). Results are delivered in utterance order. Auth is the resource key
 * (`Ocp-Apim-Subscription-Key`) or, with `useTokenAuth`, a Bearer token from the STS endpoint.
 */
import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import { StreamResampler } from '../../media/resample.js';
import type { SttProvider, SttResult, SttSession, SttSessionOptions } from './provider.js';
import { UtteranceFrames } from './utterance-frames.js';
import { AzureSttError } from './azure-stt-error.js';
import { AzureTokenSource, errorDetail } from './azure-token.js';
import { AzureUtteranceUpload } from './azure-utterance-upload.js';
import { UtteranceSttSession } from './utterance-stt-session.js';
import { pcm16LittleEndian } from './pcm16-wire.js';
import { snippet } from './quoted-snippet.js';

export { AzureSttError } from './azure-stt-error.js';

const VENDOR = 'Azure STT';
const RECOGNITION_PATH = '/speech/recognition/conversation/cognitiveservices/v1';
const ISSUE_TOKEN_PATH = '/sts/v1.0/issueToken';
/** The only PCM rate the short-audio API takes. */
const AZURE_RATE = 16_000;
/** Short-audio requests carry at most 60 s of audio; stay clear of the edge. */
const MAX_SHORT_AUDIO_MS = 59_000;

export const azureSttConfigSchema = z
  .object({
    /** Speech resource key. */
    key: secretSchema,
    /** Resource region, e.g. `westeurope`; required unless baseUrl is given. */
    region: z.string().regex(/^[a-z0-9]+$/, 'must be an Azure region name such as westeurope').optional(),
    /** Origin replacing both https://{region}.stt.speech.microsoft.com and the token host (tests, proxies). */
    baseUrl: z.string().url().optional(),
    /** Deadline for Azure's answer after the utterance ended (and for a token request). Default 10000 ms. */
    requestTimeoutMs: z.number().int().positive().optional(),
    /** Exchange the key for 10-minute Bearer tokens instead of sending the key on every request. */
    useTokenAuth: z.boolean().optional(),
  })
  .strict()
  .refine((c) => c.region !== undefined || c.baseUrl !== undefined, { message: 'needs a region (or a baseUrl)', path: ['region'] });
export type AzureSttConfig = z.infer<typeof azureSttConfigSchema>;

export interface AzureSttOptions {
  key: string;
  region?: string;
  baseUrl?: string;
  /** Default 10000 ms. */
  requestTimeoutMs?: number;
  useTokenAuth?: boolean;
  /** Longest audio per request; a longer utterance is split. Default and maximum 59000 ms. */
  maxUtteranceMs?: number;
  /** RMS (PCM16 units) under which a 20 ms frame is silence: silence before speech is not uploaded. Default 100; 0 keeps all. */
  silenceRms?: number;
  clock?: Clock;
  logger: Logger;
}

/** Provider options from the `azure` STT config section (the key resolved from the environment if given as `{ env }`). */
export function azureSttOptions(config: AzureSttConfig, deps: { logger: Logger; env?: NodeJS.ProcessEnv; clock?: Clock }): AzureSttOptions {
  const key = resolveSecret(config.key, 'stt.azure.key', deps.env ?? process.env)!;
  return { ...config, key, logger: deps.logger, ...(deps.clock ? { clock: deps.clock } : {}) };
}

export class AzureSttProvider implements SttProvider {
  readonly name = 'azure';
  /** The recognition URL without query. */
  readonly endpoint: string;
  private readonly tokens: AzureTokenSource | undefined;

  constructor(private readonly options: AzureSttOptions) {
    if (typeof options.key !== 'string' || options.key.trim() === '') {
      throw new TypeError(`${VENDOR}: key must be a non-empty string (the Speech resource key)`);
    }
    if (options.region !== undefined && !/^[a-z0-9]+$/.test(options.region)) {
      throw new TypeError(`${VENDOR}: region "${options.region}" is not an Azure region name (e.g. westeurope)`);
    }
    if (options.region === undefined && options.baseUrl === undefined) {
      throw new TypeError(`${VENDOR}: give a region (e.g. westeurope) or a baseUrl`);
    }
    for (const name of ['requestTimeoutMs', 'maxUtteranceMs'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new TypeError(`${VENDOR}: ${name} must be a positive integer, got ${String(value)}`);
      }
    }
    if (options.maxUtteranceMs !== undefined && options.maxUtteranceMs > MAX_SHORT_AUDIO_MS) {
      throw new TypeError(`${VENDOR}: maxUtteranceMs must be at most ${MAX_SHORT_AUDIO_MS} (short-audio requests take up to 60 s)`);
    }
    const speechBase = origin(options.baseUrl ?? `https://${options.region}.stt.speech.microsoft.com`);
    this.endpoint = `${speechBase}${RECOGNITION_PATH}`;
    if (options.useTokenAuth) {
      const tokenBase = origin(options.baseUrl ?? `https://${options.region}.api.cognitive.microsoft.com`);
      this.tokens = new AzureTokenSource(`${tokenBase}${ISSUE_TOKEN_PATH}`, options.key, options.requestTimeoutMs ?? 10_000, options.clock ?? systemClock);
    }
  }

  startSession(options: SttSessionOptions): SttSession {
    return new AzureSttSession(this.options, this.endpoint, this.tokens, options);
  }
}

function origin(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TypeError(`${VENDOR}: baseUrl "${base}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${VENDOR}: baseUrl "${base}" must use http or https`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function validateSessionOptions(options: SttSessionOptions): string | undefined {
  if (!Number.isInteger(options.sampleRate) || options.sampleRate < 8000 || options.sampleRate > 48000) {
    return `sampleRate must be an integer from 8000 to 48000 Hz, got ${String(options.sampleRate)}`;
  }
  if (typeof options.language !== 'string' || options.language.trim() === '') {
    return 'language must be a non-empty locale (e.g. "en-US")';
  }
  return undefined;
}

export class AzureSttSession extends UtteranceSttSession {
  private readonly clock: Clock;
  private readonly frames: UtteranceFrames | undefined;
  private readonly maxUtteranceMs: number;
  private readonly requestTimeoutMs: number;
  private readonly url: URL | undefined;
  private readonly punctuation: boolean;
  private upload: { upload: AzureUtteranceUpload; resampler: StreamResampler | undefined } | undefined;

  constructor(
    private readonly provider: AzureSttOptions,
    endpoint: string,
    private readonly tokens: AzureTokenSource | undefined,
    options: SttSessionOptions,
  ) {
    super(provider.logger.child({ stt: 'azure' }), 'azure stt recognition failed');
    this.clock = provider.clock ?? systemClock;
    this.maxUtteranceMs = provider.maxUtteranceMs ?? MAX_SHORT_AUDIO_MS;
    this.requestTimeoutMs = provider.requestTimeoutMs ?? 10_000;
    this.punctuation = options.punctuation ?? true;
    const invalid = validateSessionOptions(options);
    if (invalid) {
      this.failAtStart(new AzureSttError(`${VENDOR}: ${invalid}`, undefined, true));
      return;
    }
    if ((options.hints ?? []).some((h) => h.trim() !== '')) {
      this.log.debug({ hints: options.hints!.length }, 'azure short-audio REST has no phrase list; hints ignored');
    }
    // detailed: NBest with Display (punctuated) and ITN/Lexical (plain); raw: the caller's words unmasked.
    const query = new URLSearchParams({ language: options.language, format: 'detailed', profanity: 'raw' });
    this.url = new URL(`${endpoint}?${query.toString()}`);
    this.frames = new UtteranceFrames(options.sampleRate, provider.silenceRms ?? 100);
  }

  write(frame: Int16Array): void {
    if (!this.isOpen || !this.frames) return;
    const opened = this.frames.push(frame);
    if (opened.length === 0) return;
    const current = this.upload ?? this.startUpload();
    for (const f of opened) current.upload.write(pcm16LittleEndian(current.resampler ? current.resampler.push(f) : f));
    if (this.frames.durationMs >= this.maxUtteranceMs) {
      this.log.debug({ maxUtteranceMs: this.maxUtteranceMs }, 'azure stt utterance reached the short-audio limit; ending this request');
      this.finishUpload();
    }
  }

  endOfUtterance(): void {
    if (!this.isOpen || !this.frames) return;
    if (this.upload) this.finishUpload();
    else this.frames.reset();
  }

  protected asFailure(error: unknown): AzureSttError {
    return error instanceof AzureSttError ? error : new AzureSttError(`${VENDOR}: ${String(error)}`);
  }

  protected discardAudio(): void {
    this.frames?.reset();
    this.upload = undefined;
  }

  /** The streamed audio of the other utterances would be refused the same way: end those requests now. */
  protected override onPermanentFailure(): void {
    this.discardAudio();
    this.abortInFlight('session failed');
  }

  private startUpload(): { upload: AzureUtteranceUpload; resampler: StreamResampler | undefined } {
    const upload = new AzureUtteranceUpload(this.url!, this.requestTimeoutMs, this.clock);
    const rate = this.frames!.sampleRate;
    const resampler = rate === AZURE_RATE ? undefined : new StreamResampler(rate, AZURE_RATE);
    this.upload = { upload, resampler };
    upload.write(streamingWavHeader());
    void this.authHeaders().then(
      (headers) => {
        try {
          upload.open(headers);
        } catch (err) {
          // node:http throws synchronously for a header it cannot send (a key with a line break, say).
          upload.fail(new AzureSttError(`${VENDOR}: could not send the request: ${(err as Error).message}`, undefined, true));
        }
      },
      (err: AzureSttError) => upload.fail(err),
    );
    this.track({
      outcome: upload.answer.then((answer) => this.parseAnswer(answer.status, answer.body)),
      abort: (reason) => upload.fail(new AzureSttError(`${VENDOR}: ${reason}`)),
    });
    return this.upload;
  }

  private finishUpload(): void {
    const { upload, resampler } = this.upload!;
    this.upload = undefined;
    this.frames!.reset();
    if (resampler) upload.write(pcm16LittleEndian(resampler.flush()));
    upload.end();
  }

  private async authHeaders(): Promise<Record<string, string>> {
    if (!this.tokens) return { 'Ocp-Apim-Subscription-Key': this.provider.key };
    return { Authorization: `Bearer ${await this.tokens.token()}` };
  }

  private parseAnswer(status: number, body: string): SttResult | undefined {
    if (status !== 200) {
      const hint =
        status === 401 ? ' (wrong key or token, or a key of another region)' : status === 403 ? ' (no key or token sent)' : status === 400 ? ' (unsupported language or audio)' : status === 429 ? ' (request rate limit)' : '';
      // The streamed audio cannot be replayed; a refused token is only renewed for the next utterance.
      const tokenRefused = status === 401 && this.tokens !== undefined;
      if (tokenRefused) this.tokens!.invalidate();
      throw new AzureSttError(
        `${VENDOR}: Azure rejected the recognition with HTTP ${status}${hint}: ${errorDetail(body)}${tokenRefused ? ' (the token is renewed for the next utterance)' : ''}`,
        status,
        (status === 401 && !tokenRefused) || status === 403,
      );
    }
    return parseRecognitionResult(body, this.punctuation);
  }
}

interface NBestEntry {
  Confidence?: unknown;
  Lexical?: unknown;
  ITN?: unknown;
  MaskedITN?: unknown;
  Display?: unknown;
}

/** A `format=detailed` answer as a final result; undefined when Azure heard no speech. */
export function parseRecognitionResult(text: string, punctuation: boolean): SttResult | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AzureSttError(`${VENDOR}: malformed JSON from Azure: ${snippet(text)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AzureSttError(`${VENDOR}: expected a JSON object from Azure, got ${snippet(text)}`);
  }
  const answer = parsed as { RecognitionStatus?: unknown; DisplayText?: unknown; NBest?: unknown };
  switch (answer.RecognitionStatus) {
    case 'Success':
      break;
    // Silence, or only noise, at the start of the audio: nothing was said.
    case 'NoMatch':
    case 'InitialSilenceTimeout':
    case 'BabbleTimeout':
      return undefined;
    case 'Error':
      throw new AzureSttError(`${VENDOR}: Azure reported RecognitionStatus "Error" (an internal service error): ${snippet(text)}`);
    default:
      throw new AzureSttError(`${VENDOR}: answer without a known RecognitionStatus: ${snippet(text)}`);
  }
  const best = Array.isArray(answer.NBest) ? (answer.NBest[0] as NBestEntry | undefined) : undefined;
  let said: unknown;
  if (best) said = punctuation ? best.Display : (best.ITN ?? best.Lexical);
  // format=simple (or an NBest-less answer) carries only DisplayText.
  else said = answer.DisplayText;
  if (typeof said !== 'string') {
    throw new AzureSttError(`${VENDOR}: Success answer without a transcript (${best ? (punctuation ? 'NBest[0].Display' : 'NBest[0].ITN') : 'NBest or DisplayText'}): ${snippet(text)}`);
  }
  const trimmed = said.trim();
  if (trimmed === '') return undefined;
  const result: SttResult = { text: trimmed, final: true };
  if (typeof best?.Confidence === 'number') result.confidence = best.Confidence;
  return result;
}

/**
 * A 16 kHz mono PCM16 WAV header for audio of unknown length: the RIFF and data sizes are 0, as the
 * Speech SDK writes them for streams (the service reads the chunked body to its end).
 */
function streamingWavHeader(): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(0, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(AZURE_RATE, 24);
  header.writeUInt32LE(AZURE_RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(0, 40);
  return header;
}

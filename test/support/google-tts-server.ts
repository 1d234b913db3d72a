/**
 * A loopback double of Google Cloud Text-to-Speech `POST /v1/text:synthesize`.
 * - Auth as Google checks it: `?key=` (wrong key: 400 INVALID_ARGUMENT / API_KEY_INVALID), or
 *   `Authorization: Bearer` (wrong token: 401 UNAUTHENTICATED), neither: 403 PERMISSION_DENIED.
 * - Body validated like the API: unknown fields, exactly one of input.text / input.ssml, SSML with a
 *   `<speak>` root, voice.languageCode, a voice name matching it, audioEncoding, ranges (400 INVALID_ARGUMENT).
 * - Answers `{ audioContent }`: base64 of a WAV (44-byte header + LINEAR16) holding a tone at
 *   sampleRateHertz, unless a queued script says otherwise (an error, a raw body, silence, a cut body).
 * Every request is recorded with its query, headers and parsed body.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackDouble, receive } from './fake-vendor-server.js';
import { encodeWav, tone } from './tts-http-server.js';

/** The JSON body of a synthesize request, as far as the double reads it. */
export interface GoogleSynthesizeBody {
  input?: Record<string, unknown>;
  voice?: Record<string, unknown>;
  audioConfig?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface RecordedGoogleRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: GoogleSynthesizeBody | undefined;
}

export interface GoogleScript {
  /** Tone frequency and length of the synthesized speech (default 440 Hz, 500 ms). */
  hz?: number;
  ms?: number;
  /** Answer at this rate instead of the requested sampleRateHertz. */
  answerRate?: number;
  /** Answer with a google.rpc.Status error. */
  error?: { code: number; status: string; message: string };
  /** Answer with exactly this (malformed answers). */
  raw?: { status?: number; contentType: string; body: string };
  /** Accept the request and never answer. */
  silent?: boolean;
  /** Send headers and this many bytes of the JSON, then drop the connection. */
  cutAfterBytes?: number;
}

const KNOWN_FIELDS: Record<string, string[]> = {
  '': ['input', 'voice', 'audioConfig', 'advancedVoiceOptions'],
  input: ['text', 'ssml', 'markup', 'multiSpeakerMarkup', 'customPronunciations'],
  voice: ['languageCode', 'name', 'ssmlGender', 'customVoice', 'voiceClone', 'modelName'],
  audioConfig: ['audioEncoding', 'speakingRate', 'pitch', 'volumeGainDb', 'sampleRateHertz', 'effectsProfileId'],
};
const SNAKE: Record<string, string> = { '': '', input: 'input', voice: 'voice', audioConfig: 'audio_config' };

export class GoogleTtsDouble extends LoopbackDouble {
  readonly requests: RecordedGoogleRequest[] = [];
  readonly scripts: GoogleScript[] = [];
  apiKey = 'AIza-test-key';
  bearerToken = 'ya29.test-token';

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req);
    const recorded = { method: received.method, path: received.path, query: received.query, headers: received.headers, body: received.json as GoogleSynthesizeBody | undefined };
    this.requests.push(recorded);
    await this.route(recorded, received.text, res);
  }

  private route(req: RecordedGoogleRequest, raw: string, res: ServerResponse): void {
    if (req.method !== 'POST' || req.path !== '/v1/text:synthesize') {
      return googleError(res, 404, 'NOT_FOUND', `The requested URL ${req.path} was not found on this server.`);
    }
    const auth = this.authFailure(req);
    if (auth) return sendJson(res, auth.code, { error: auth });
    if (!req.body) return googleError(res, 400, 'INVALID_ARGUMENT', `Invalid JSON payload received. Unexpected token.\n${raw.slice(0, 40)}`);
    const invalid = validateBody(req.body);
    if (invalid) return googleError(res, 400, 'INVALID_ARGUMENT', invalid);
    const script = this.scripts.shift() ?? {};
    if (script.silent) return;
    if (script.error) return googleError(res, script.error.code, script.error.status, script.error.message);
    if (script.raw) {
      res.writeHead(script.raw.status ?? 200, { 'content-type': script.raw.contentType });
      res.end(script.raw.body);
      return;
    }
    const rate = script.answerRate ?? (req.body.audioConfig?.sampleRateHertz as number | undefined) ?? 24000;
    const wav = encodeWav(tone(script.hz ?? 440, script.ms ?? 500, rate), rate);
    const json = JSON.stringify({ audioContent: wav.toString('base64') });
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', vary: 'Origin, X-Origin, Referer' });
    if (script.cutAfterBytes !== undefined) {
      res.write(json.slice(0, script.cutAfterBytes), () => res.destroy());
      return;
    }
    res.end(json);
  }

  private authFailure(req: RecordedGoogleRequest): { code: number; message: string; status: string; details?: unknown[] } | undefined {
    const key = req.query.get('key') ?? (req.headers['x-goog-api-key'] as string | undefined);
    const authorization = req.headers.authorization;
    if (key !== undefined) {
      if (key === this.apiKey) return undefined;
      return {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'texttospeech.googleapis.com' } },
        ],
      };
    }
    if (authorization !== undefined) {
      if (authorization === `Bearer ${this.bearerToken}`) return undefined;
      return {
        code: 401,
        message:
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        status: 'UNAUTHENTICATED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED', domain: 'googleapis.com' }],
      };
    }
    return {
      code: 403,
      message:
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      status: 'PERMISSION_DENIED',
    };
  }
}

/** What the API would answer 400 for, or undefined when the body is a valid LINEAR16 synthesis request. */
function validateBody(body: GoogleSynthesizeBody): string | undefined {
  for (const [section, fields] of Object.entries(KNOWN_FIELDS)) {
    const obj = section === '' ? body : body[section];
    if (obj === undefined) continue;
    if (typeof obj !== 'object' || obj === null) return `Invalid value at '${SNAKE[section]}': expected an object.`;
    for (const name of Object.keys(obj)) {
      if (!fields.includes(name)) {
        return `Invalid JSON payload received. Unknown name "${name}"${section ? ` at '${SNAKE[section]}'` : ''}: Cannot find field.`;
      }
    }
  }
  const { input, voice, audioConfig } = body;
  if (!input || (typeof input.text === 'string') === (typeof input.ssml === 'string')) {
    return 'Either `input.text` or `input.ssml` needs to be set.';
  }
  if (typeof input.ssml === 'string' && !/^\s*(?:<\?xml[^>]*\?>\s*)?<speak[\s>][\s\S]*<\/speak>\s*$/.test(input.ssml)) {
    return 'Invalid SSML. The root element must be <speak>.';
  }
  const languageCode = voice?.languageCode;
  if (typeof languageCode !== 'string' || languageCode === '') return 'Voice language code must be set.';
  if (voice?.name !== undefined) {
    const name = String(voice.name);
    const lang = /^([a-z]{2,3}-[A-Za-z]{2,4})-/.exec(name)?.[1];
    if (!lang) return `Voice '${name}' does not exist.`;
    if (lang.toLowerCase() !== languageCode.toLowerCase()) {
      return `Requested language code '${languageCode}' doesn't match the voice '${name}''s language code '${lang}'.`;
    }
  }
  if (voice?.ssmlGender !== undefined && !['MALE', 'FEMALE', 'NEUTRAL', 'SSML_VOICE_GENDER_UNSPECIFIED'].includes(String(voice.ssmlGender))) {
    return `Invalid value at 'voice.ssml_gender' (type.googleapis.com/google.cloud.texttospeech.v1.SsmlVoiceGender), "${String(voice.ssmlGender)}"`;
  }
  if (!audioConfig) return 'AudioConfig is required.';
  if (audioConfig.audioEncoding !== 'LINEAR16') return `This double serves audioEncoding LINEAR16 only, got ${JSON.stringify(audioConfig.audioEncoding)}`;
  const rate = audioConfig.sampleRateHertz;
  if (rate !== undefined && (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 8000 || rate > 48000)) return `sample_rate_hertz ${String(rate)} is not supported.`;
  const speakingRate = audioConfig.speakingRate;
  if (speakingRate !== undefined && (typeof speakingRate !== 'number' || speakingRate < 0.25 || speakingRate > 4)) {
    return 'speaking_rate must be between 0.25 and 4.0.';
  }
  const pitch = audioConfig.pitch;
  if (pitch !== undefined && (typeof pitch !== 'number' || pitch < -20 || pitch > 20)) return 'pitch must be between -20.0 and 20.0.';
  return undefined;
}

/** Google's front end answers pretty-printed JSON in UTF-8. */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body, null, 2));
}

function googleError(res: ServerResponse, code: number, status: string, message: string): void {
  sendJson(res, code, { error: { code, message, status } });
}

export async function startGoogleTtsDouble(): Promise<GoogleTtsDouble> {
  return new GoogleTtsDouble().start();
}

/**
 * A loopback double of ElevenLabs' streaming speech endpoint,
 * `POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>|ulaw_8000`:
 * - auth as ElevenLabs does it: `xi-api-key`, 401 `{detail:{status:"needs_authorization"|"invalid_api_key", message}}`;
 * - FastAPI validation: 422 `{detail:[{type, loc, msg, input}]}` for a missing text/model_id or an unknown output_format;
 * - audio: a tone at the output_format's rate (raw PCM16 LE, or mu-law for ulaw_8000), chunked in
 *   odd byte sizes; a script can hold chunks behind gates, cut the connection mid-body, send an empty
 *   body, stall before the headers or after them, or answer any status and JSON.
 * Every request is recorded with its headers, query and parsed body.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackDouble, neverAnswer, receive, sendJson } from './fake-vendor-server.js';
import { encodeMuLaw } from '../../src/media/g711.js';
import { pcm16le, writeTone, type ToneStreamScript } from './tts-http-server.js';

export interface RecordedElevenLabsRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

export interface ElevenLabsScript extends ToneStreamScript {
  /** Answer 200 and end without a byte of audio. */
  empty?: boolean;
  /** Never answer (no headers): the request deadline must fire. */
  stallBeforeHeaders?: boolean;
  /** Send the 200 headers and then nothing: the first-byte deadline must fire. */
  stallAfterHeaders?: boolean;
  /** Answer this status and JSON body instead of audio. */
  reply?: { status: number; json: unknown };
}

export const ELEVENLABS_TEST_KEY = 'sk_test_elevenlabs_0123456789';

export class ElevenLabsDouble extends LoopbackDouble {
  readonly requests: RecordedElevenLabsRequest[] = [];
  readonly scripts: ElevenLabsScript[] = [];

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req);
    const recorded = { method: received.method, path: received.path, query: received.query, headers: received.headers, body: received.json as Record<string, unknown> | undefined };
    this.requests.push(recorded);
    await this.route(recorded, received.text, res);
  }

  private async route(req: RecordedElevenLabsRequest, raw: string, res: ServerResponse): Promise<void> {
    const match = /^\/v1\/text-to-speech\/([^/]+)\/stream$/.exec(req.path);
    if (req.method !== 'POST' || !match) return sendJson(res, 404, { detail: 'Not Found' });
    const key = req.headers['xi-api-key'];
    if (key === undefined) {
      return sendJson(res, 401, {
        detail: { status: 'needs_authorization', message: 'Neither authorization header nor xi-api-key received, please provide one.' },
      });
    }
    if (key !== ELEVENLABS_TEST_KEY) return sendJson(res, 401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
    const body = req.body;
    if (!body) {
      return sendJson(res, 422, { detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: raw.slice(0, 40) } }] });
    }
    const problems: unknown[] = [];
    if (typeof body.text !== 'string') problems.push({ type: 'missing', loc: ['body', 'text'], msg: 'Field required', input: body });
    if (body.model_id !== undefined && typeof body.model_id !== 'string') {
      problems.push({ type: 'string_type', loc: ['body', 'model_id'], msg: 'Input should be a valid string', input: body.model_id });
    }
    const outputFormat = req.query.get('output_format') ?? 'mp3_44100_128';
    const format = /^(pcm)_(8000|16000|22050|24000|44100|48000)$|^(ulaw)_8000$/.exec(outputFormat);
    if (!format) {
      problems.push({
        type: 'enum',
        loc: ['query', 'output_format'],
        msg: "Input should be 'pcm_8000', 'pcm_16000', 'pcm_22050', 'pcm_24000', 'pcm_44100', 'pcm_48000' or 'ulaw_8000' (this double serves no mp3/opus)",
        input: outputFormat,
      });
    }
    if (problems.length > 0) return sendJson(res, 422, { detail: problems });

    const script = this.scripts.shift() ?? {};
    if (script.reply) return sendJson(res, script.reply.status, script.reply.json);
    if (script.stallBeforeHeaders) return neverAnswer();
    const rate = format![2] ? Number(format![2]) : 8000;
    res.writeHead(200, {
      'content-type': format![3] ? 'audio/basic' : 'audio/pcm',
      'transfer-encoding': 'chunked',
      'request-id': `req_${this.requests.length}`,
      'character-cost': String((body.text as string).length),
    });
    if (script.stallAfterHeaders) {
      res.flushHeaders();
      return neverAnswer();
    }
    if (script.empty) return void res.end();
    await writeTone(res, script, rate, format![3] ? encodeMuLaw : pcm16le);
  }
}

export async function startElevenLabsDouble(): Promise<ElevenLabsDouble> {
  return new ElevenLabsDouble().start();
}

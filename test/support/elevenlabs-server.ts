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
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeMuLaw } from '../../src/media/g711.js';
import { pcm16le, tone } from './tts-http-server.js';

export interface RecordedElevenLabsRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

export interface ElevenLabsScript {
  /** Tone frequency and length of the generated speech (default 440 Hz, 500 ms). */
  hz?: number;
  ms?: number;
  /** Pieces the body is split into (default 5). */
  chunks?: number;
  /** gates[i] is awaited before piece i+1 is written. */
  gates?: Promise<void>[];
  /** Destroy the connection instead of writing piece `cutAfterChunks` (the server dies mid-body). */
  cutAfterChunks?: number;
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

export class ElevenLabsDouble {
  readonly requests: RecordedElevenLabsRequest[] = [];
  readonly scripts: ElevenLabsScript[] = [];
  /** Responses closed before the server finished them (client aborts). */
  closedEarly = 0;
  url = '';
  private server?: Server;
  private readonly open = new Set<ServerResponse>();
  private closeWaiters: Array<() => void> = [];

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(parts).toString('utf8');
        let body: Record<string, unknown> | undefined;
        try {
          body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
        } catch {
          body = undefined;
        }
        const url = new URL(req.url ?? '/', 'http://double');
        const recorded = { method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body };
        this.requests.push(recorded);
        this.open.add(res);
        res.on('close', () => {
          this.open.delete(res);
          if (!res.writableFinished) this.closedEarly++;
          const waiters = this.closeWaiters;
          this.closeWaiters = [];
          for (const w of waiters) w();
        });
        this.route(recorded, raw, res).catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(500);
          res.end(String(err));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves when some response is closed (by the client or the server). */
  nextClose(): Promise<void> {
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
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
    if (script.stallBeforeHeaders) return new Promise<void>(() => {});
    const rate = format![2] ? Number(format![2]) : 8000;
    const samples = tone(script.hz ?? 440, script.ms ?? 500, rate);
    const bytes = format![3] ? encodeMuLaw(samples) : pcm16le(samples);
    res.writeHead(200, {
      'content-type': format![3] ? 'audio/basic' : 'audio/pcm',
      'transfer-encoding': 'chunked',
      'request-id': `req_${this.requests.length}`,
      'character-cost': String((body.text as string).length),
    });
    if (script.stallAfterHeaders) {
      res.flushHeaders();
      return new Promise<void>(() => {});
    }
    if (script.empty) return void res.end();
    await writeChunked(res, bytes, script.chunks ?? 5, script.gates, script.cutAfterChunks);
  }
}

/** Writes `bytes` in `count` pieces of odd sizes, awaiting gates between them; destroys the socket at `cutAfter`. */
export async function writeChunked(res: ServerResponse, bytes: Uint8Array, count: number, gates: Promise<void>[] = [], cutAfter = Infinity): Promise<void> {
  const size = Math.ceil(bytes.length / count) | 1;
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    if (i > 0) {
      const gate = gates[i - 1] as Promise<void> | undefined;
      if (gate) await gate;
      else await new Promise<void>((r) => setImmediate(r));
    }
    if (res.destroyed) return;
    if (i >= cutAfter) {
      res.destroy();
      return;
    }
    const piece = bytes.subarray(off, Math.min(bytes.length, off + size));
    off += piece.length;
    await new Promise<void>((resolve) => res.write(piece, () => resolve()));
  }
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startElevenLabsDouble(): Promise<ElevenLabsDouble> {
  return new ElevenLabsDouble().start();
}

/**
 * Test harness for the Plivo adapter: a real Fastify server on 127.0.0.1 with the Plivo routes,
 * a CallHandler that records what it is told, captured logs, and a ws client that speaks as Plivo.
 */
import { Writable } from 'node:stream';
import { EventEmitter, once } from 'node:events';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { pino } from 'pino';
import WebSocket from 'ws';
import type { CallEnd, CallHandler, CallInfo, CarrierLeg, LiveCallView } from '../../src/carriers/leg.js';
import { plivoRoutes, type PlivoRoutesOptions } from '../../src/carriers/plivo/routes.js';
import type { PlivoContentType } from '../../src/carriers/plivo/answer-xml.js';
import { computeV3Signature } from '../../src/carriers/plivo/signature.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** Collects pino JSON lines and lets tests wait for one. */
export class CapturedLogs extends EventEmitter {
  readonly lines: LogLine[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as LogLine;
        this.lines.push(line);
        this.emit('line', line);
      }
      done();
    },
  });

  async waitFor(predicate: (line: LogLine) => boolean): Promise<LogLine> {
    const found = this.lines.find(predicate);
    if (found) return found;
    return new Promise((resolve) => {
      const onLine = (line: LogLine) => {
        if (!predicate(line)) return;
        this.off('line', onLine);
        resolve(line);
      };
      this.on('line', onLine);
    });
  }

  matching(pattern: RegExp): LogLine[] {
    return this.lines.filter((l) => pattern.test(l.msg));
  }
}

/** A CallHandler that records every call and lets tests wait for legs and ends; a minimal live-call registry. */
export class RecordingCallHandler extends EventEmitter implements CallHandler {
  readonly answered: CallInfo[] = [];
  readonly legs = new Map<string, CarrierLeg>();
  readonly ended: Array<{ callId: string; end: CallEnd }> = [];
  private readonly live = new Map<string, { info: CallInfo; leg?: CarrierLeg }>();
  private readonly endedIds = new Map<string, string>();

  callAnswered(info: CallInfo): void {
    this.answered.push(info);
    this.live.set(info.carrierCallId, { info });
  }

  legStarted(info: CallInfo, leg: CarrierLeg): void {
    const call = this.live.get(info.carrierCallId);
    if (call) {
      call.leg = leg;
      leg.once('hangup', () => {
        if (call.leg === leg) call.leg = undefined;
      });
    }
    this.legs.set(info.carrierCallId, leg);
    this.emit('leg', info.carrierCallId, leg);
  }

  callEnded(callId: string, end: CallEnd): void {
    this.ended.push({ callId, end });
    for (const [carrierCallId, call] of this.live) {
      if (call.info.callId !== callId) continue;
      this.live.delete(carrierCallId);
      this.endedIds.set(carrierCallId, callId);
      call.leg?.endFromCarrier(end);
    }
    this.emit('ended', callId, end);
  }

  findCall(_carrier: string, carrierCallId: string): LiveCallView | undefined {
    return this.live.get(carrierCallId);
  }

  endedCall(_carrier: string, carrierCallId: string): string | undefined {
    return this.endedIds.get(carrierCallId);
  }

  async waitForLeg(callUuid: string): Promise<CarrierLeg> {
    const existing = this.legs.get(callUuid);
    if (existing) return existing;
    for (;;) {
      const [uuid, leg] = (await once(this, 'leg')) as [string, CarrierLeg];
      if (uuid === callUuid) return leg;
    }
  }
}

export interface PlivoTestServer {
  app: FastifyInstance;
  baseUrl: string;
  streamUrl: string;
  handler: RecordingCallHandler;
  logs: CapturedLogs;
  close(): Promise<void>;
}

export async function startPlivoTestServer(
  options: { authToken?: string; contentType?: PlivoContentType } & Partial<Omit<PlivoRoutesOptions, 'handler' | 'logger' | 'publicBaseUrl'>> = {},
): Promise<PlivoTestServer> {
  const logs = new CapturedLogs();
  const handler = new RecordingCallHandler();
  const app = Fastify();
  await app.register(websocket);
  let publicBaseUrl = '';
  let counter = 0;
  await app.register(plivoRoutes, {
    prefix: '/plivo',
    contentType: 'audio/x-mulaw;rate=8000',
    newCallId: () => `vx-${++counter}`,
    ...options,
    get publicBaseUrl() {
      return publicBaseUrl;
    },
    handler,
    logger: pino({ level: 'debug' }, logs.stream),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no port');
  publicBaseUrl = `http://127.0.0.1:${address.port}`;
  return {
    app,
    baseUrl: publicBaseUrl,
    streamUrl: `ws://127.0.0.1:${address.port}/plivo/stream`,
    handler,
    logs,
    close: () => app.close(),
  };
}

export function signedHeaders(method: 'GET' | 'POST', url: string, params: Record<string, string | string[]>, authToken: string): Record<string, string> {
  const nonce = String(Math.floor(Math.random() * 1e12));
  return {
    'X-Plivo-Signature-V3': computeV3Signature({ method, url, params, nonce, authToken }),
    'X-Plivo-Signature-V3-Nonce': nonce,
  };
}

/** POSTs a form-encoded Plivo callback, signed when a token is given. */
export async function postCallback(
  url: string,
  params: Record<string, string | string[]>,
  options: { authToken?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; contentType: string | null }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const value of Array.isArray(v) ? v : [v]) body.append(k, value);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...(options.authToken ? signedHeaders('POST', url, params, options.authToken) : {}),
    ...options.headers,
  };
  const res = await fetch(url, { method: 'POST', headers, body: body.toString() });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') };
}

export function answerParams(callUuid: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CallUUID: callUuid,
    From: '14155551234',
    To: '14155550000',
    Direction: 'inbound',
    CallStatus: 'in-progress',
    Event: 'StartApp',
    ALegUUID: callUuid,
    ...extra,
  };
}

/** What Plivo's stream side does: connects, sends start/media/acks, and collects what Voxgate sends. */
export class PlivoStreamClient {
  readonly received: Array<Record<string, unknown>> = [];
  private readonly arrivals = new EventEmitter();
  private sequence = 0;
  private chunk = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      this.received.push(msg);
      this.arrivals.emit('message', msg);
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<PlivoStreamClient> {
    const socket = new WebSocket(url, { headers });
    const client = new PlivoStreamClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  sendJson(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  sendRaw(text: string | Buffer): void {
    this.socket.send(text);
  }

  start(callUuid: string, mediaFormat: { encoding: string; sampleRate: number } = { encoding: 'audio/x-mulaw', sampleRate: 8000 }, streamId = `st-${callUuid}`): void {
    this.sendJson({
      event: 'start',
      sequenceNumber: ++this.sequence,
      start: { callId: callUuid, streamId, accountId: 'MA123', tracks: ['inbound'], mediaFormat },
      extra_headers: 'voxgateCallId=unknown',
    });
  }

  media(payload: Buffer | string): void {
    this.sendJson({
      event: 'media',
      sequenceNumber: ++this.sequence,
      streamId: 'st',
      media: { track: 'inbound', timestamp: String(Date.now()), chunk: ++this.chunk, payload: typeof payload === 'string' ? payload : payload.toString('base64') },
    });
  }

  /** Resolves with the first message (already received or future) that matches. */
  async next(predicate: (msg: Record<string, unknown>) => boolean, after = 0): Promise<Record<string, unknown>> {
    const found = this.received.slice(after).find(predicate);
    if (found) return found;
    return new Promise((resolve) => {
      const onMessage = (msg: Record<string, unknown>) => {
        if (!predicate(msg)) return;
        this.arrivals.off('message', onMessage);
        resolve(msg);
      };
      this.arrivals.on('message', onMessage);
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Collects `audio` frames from a leg (copied, since the leg reuses its buffer) until `count` arrive. */
export function collectFrames(leg: CarrierLeg, count: number): Promise<Int16Array[]> {
  const frames: Int16Array[] = [];
  return new Promise((resolve) => {
    const onAudio = (frame: Int16Array) => {
      frames.push(Int16Array.from(frame));
      if (frames.length === count) {
        leg.off('audio', onAudio);
        resolve(frames);
      }
    };
    leg.on('audio', onAudio);
  });
}

/** A sine tone as PCM16, for audio that survives G.711 with a measurable error. */
export function tone(samples: number, sampleRate: number, hz = 440, amplitude = 8000): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate));
  return out;
}

/**
 * What every carrier adapter's tests share: captured logs, a CallHandler double that is a minimal
 * live-call registry recording what it is told, and audio helpers.
 */
import { Writable } from 'node:stream';
import { EventEmitter, once } from 'node:events';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import type { CallEnd, CallHandler, CallInfo, CarrierLeg, LiveCallView } from '../../src/carriers/leg.js';

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

export interface CarrierTestServer {
  app: FastifyInstance;
  /** http://127.0.0.1:<port>, also the public URL the routes sign against. */
  baseUrl: string;
  /** ws://127.0.0.1:<port><prefix>/stream */
  streamUrl: string;
  handler: RecordingCallHandler;
  logs: CapturedLogs;
  close(): Promise<void>;
}

/** What a carrier's routes plugin gets from the test server: the registry double, captured logs, ids vx-1, vx-2... */
export interface CarrierRoutesContext {
  handler: RecordingCallHandler;
  logger: Logger;
  newCallId: () => string;
  /** Known once the server listens (port 0). */
  publicBaseUrl: () => string;
}

/** A real Fastify server on 127.0.0.1 with @fastify/websocket and one carrier's routes under `prefix`. */
export async function startCarrierTestServer(
  prefix: string,
  register: (app: FastifyInstance, context: CarrierRoutesContext) => PromiseLike<unknown>,
  handler = new RecordingCallHandler(),
): Promise<CarrierTestServer> {
  const logs = new CapturedLogs();
  const app = Fastify();
  await app.register(websocket);
  let publicBaseUrl = '';
  let counter = 0;
  await register(app, { handler, logger: pino({ level: 'debug' }, logs.stream), newCallId: () => `vx-${++counter}`, publicBaseUrl: () => publicBaseUrl });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no port');
  publicBaseUrl = `http://127.0.0.1:${address.port}`;
  return { app, baseUrl: publicBaseUrl, streamUrl: `ws://127.0.0.1:${address.port}${prefix}/stream`, handler, logs, close: () => app.close() };
}

/** The carrier's side of a media stream socket in tests: JSON in and out, every message Voxgate sent kept in order. */
export class StreamTestClient {
  readonly received: Array<Record<string, unknown>> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly arrivals = new EventEmitter();

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      this.received.push(msg);
      this.arrivals.emit('message', msg);
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Resolves once the socket to `url` is open (rejects when the connection fails). */
  static async open(url: string, headers: Record<string, string>): Promise<WebSocket> {
    const socket = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return socket;
  }

  sendJson(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  sendRaw(text: string | Buffer): void {
    this.socket.send(text);
  }

  /** Resolves with the first message (already received, from index `after`, or future) that matches. */
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

/**
 * A conversation service ("brain", seed 000) on loopback for webhook bot tests: receives the call
 * events Voxgate POSTs, answers as scripted (synchronously in the HTTP response, with an error, or
 * never), posts replies later to Voxgate's response endpoint, and serves the WAV its audio_url
 * replies point to.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeVendorServer, receive } from './fake-vendor-server.js';
import { encodeWav } from '../../src/media/wav.js';

export interface BrainRequest {
  type: string;
  call_id: string;
  body: Record<string, unknown>;
  authorization?: string;
}

/** What the brain does with one request: answer with status and JSON body (raw string sent as is), or never answer. */
export type BrainAnswer = { status?: number; body?: unknown } | 'hold';

export class WebhookBrain {
  readonly requests: BrainRequest[] = [];
  /** Scripted answer per request; default `{}` with 200. */
  answer: (req: BrainRequest) => BrainAnswer = () => ({ body: {} });
  /** WAV requests served, by path. */
  readonly audioFetches: string[] = [];
  private waiters: { type?: string; seen: number; resolve: (r: BrainRequest) => void }[] = [];
  private readonly tone: Buffer;
  private readonly server = new FakeVendorServer((req, res) => this.handle(req, res));

  constructor(readonly options: { token?: string } = {}) {
    // 200 ms of a 440 Hz tone at 8 kHz: real audio for playUrl.
    const samples = new Int16Array(1600);
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    this.tone = encodeWav(samples, 8000);
  }

  get url(): string {
    return `${this.origin}/webhook`;
  }

  get origin(): string {
    return this.server.origin;
  }

  audioUrl(name: string): string {
    return `${this.origin}/audio/${name}.wav`;
  }

  async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  /** Ends held answers and every connection. */
  async close(): Promise<void> {
    await this.server.close();
  }

  /** Resolves with the `n`th request (0-based) of `type`, now or when it arrives. */
  request(type?: string, n = 0): Promise<BrainRequest> {
    const matching = this.requests.filter((r) => !type || r.type === type);
    if (matching.length > n) return Promise.resolve(matching[n]!);
    return new Promise((resolve) => this.waiters.push({ type, seen: n, resolve }));
  }

  /** POSTs a reply to Voxgate's response endpoint, as the brain does after processing. */
  async postReply(responseUrl: string, reply: unknown, token?: string): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(responseUrl, { method: 'POST', headers, body: JSON.stringify(reply) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url?.startsWith('/audio/') && req.url.endsWith('.wav')) {
      this.audioFetches.push(req.url);
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': this.tone.length }).end(this.tone);
      return;
    }
    if (req.method !== 'POST' || req.url !== '/webhook') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
      return;
    }
    const { text } = await receive(req);
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad token' }));
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'body is not JSON' }));
      return;
    }
    const request: BrainRequest = { type: String(body.type), call_id: String(body.call_id), body, authorization: req.headers.authorization };
    this.requests.push(request);
    const answer = this.answer(request);
    // A held request is left open: close() ends it.
    if (answer !== 'hold') {
      const payload = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(payload);
    }
    this.notify(request);
  }

  private notify(request: BrainRequest): void {
    for (const w of [...this.waiters]) {
      if (w.type && w.type !== request.type) continue;
      const matching = this.requests.filter((r) => !w.type || r.type === w.type);
      if (matching.length > w.seen) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(matching[w.seen]!);
      }
    }
  }
}

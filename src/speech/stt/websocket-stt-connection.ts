/**
 * One WebSocket to a streaming recognizer (Deepgram, Vosk). It opens the socket the way every such
 * vendor wants it (no compression: PCM barely compresses and deflating would hold the caller's frame),
 * and turns what can go wrong on the wire into errors that name the vendor and what happened:
 * - an upgrade the server refused with an HTTP answer (bad key, wrong path) comes out as `refused`
 *   with the status, headers and the start of the body;
 * - a socket error, a binary frame, or a text frame that is not a JSON object come out as `failure`;
 * - text frames holding a JSON object come out as `message`, for the vendor to read.
 * It can also keep a quiet stream alive, and watch that a recognizer which answers all audio keeps
 * answering (see `replyIdle`). What a message means, and what the session does about a
 * failure or a close, stays with the vendor.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import { IdleWatchdog } from '../../runtime/idle-watchdog.js';
import { snippet } from './quoted-snippet.js';

/** A refusal's body is a short error text or JSON; only its start is kept for the message. */
const MAX_REFUSAL_BODY = 4096;

export interface WebSocketSttConnectionOptions {
  url: string;
  headers?: Record<string, string>;
  /** ws's own opening-handshake deadline; when it passes, `failure` reports a connection error. */
  handshakeTimeoutMs?: number;
  /** Starts every error message, e.g. "Deepgram STT". */
  vendor: string;
  /** Who is on the other end, in error messages, e.g. "Deepgram" or "the Vosk server". */
  peer: string;
  /**
   * For recognizers that answer every stretch of audio (interim or empty results): once audio went
   * out, some message must come within `ms`, or `failure` reports the stall and the socket is
   * dropped. Without it a stalled recognizer leaves the caller unheard for the rest of the call.
   * `setting` names the option in the error. Absent or ms 0: not watched.
   */
  replyIdle?: { ms: number; clock: Clock; setting: string };
}

/** The server answered the upgrade with an ordinary HTTP response. */
export interface UpgradeRefusal {
  status: number;
  headers: IncomingHttpHeaders;
  /** The response body, trimmed and cut to its first 4 KiB; resolves once the response ended or broke. */
  body: Promise<string>;
}

export interface WebSocketSttConnectionEventMap {
  open: [];
  /** A text frame holding a JSON object (`raw` is the frame's text). */
  message: [message: Record<string, unknown>, raw: string];
  refused: [refusal: UpgradeRefusal];
  /** The connection broke, or the peer sent something that is not a JSON object. */
  failure: [error: Error];
  close: [code: number, reason: string];
}

export class WebSocketSttConnection extends EventEmitter<WebSocketSttConnectionEventMap> {
  private readonly ws: WebSocket;
  private keepAliveTimer: TimerHandle | undefined;
  /** Audio went out since the last keep-alive check: the stream is not quiet. */
  private audioSinceKeepAliveCheck = false;
  private readonly replyWatchdog: IdleWatchdog | undefined;
  private lastAudioAt = 0;

  constructor(private readonly options: WebSocketSttConnectionOptions) {
    super();
    const idle = options.replyIdle;
    if (idle && idle.ms > 0) this.replyWatchdog = new IdleWatchdog(idle.clock, idle.ms, (ms) => this.stalled(ms, idle.setting));
    this.ws = new WebSocket(options.url, {
      headers: options.headers ?? {},
      ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeout: options.handshakeTimeoutMs } : {}),
      perMessageDeflate: false,
    });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('open', () => this.emit('open'));
    this.ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    this.ws.on('unexpected-response', (_req, res) => this.onRefused(res));
    this.ws.on('error', (err) => this.emit('failure', this.connectionError(err)));
    this.ws.on('close', (code, reason) => {
      this.stopKeepAlive();
      this.replyWatchdog?.stop();
      this.emit('close', code, reason.toString('utf8'));
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends audio as a binary frame; throws like ws does on a socket that is not open. */
  sendAudio(bytes: Buffer): void {
    this.audioSinceKeepAliveCheck = true;
    this.ws.send(bytes, { binary: true });
    if (this.options.replyIdle) this.lastAudioAt = this.options.replyIdle.clock.now();
    // Counted from the oldest audio not answered yet: steady audio must not push the deadline back.
    if (this.replyWatchdog && !this.replyWatchdog.armed) this.replyWatchdog.kick();
  }

  /** Sends a text frame if the socket is open; a closing socket takes nothing more. */
  sendText(message: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(message);
  }

  /**
   * Sends `message` whenever `quietMs` passed without audio, until the socket closes or
   * stopKeepAlive(): servers that drop an idle stream (Deepgram after 10 s) keep it.
   */
  keepAlive(message: string, quietMs: number, clock: Clock): void {
    this.stopKeepAlive();
    this.keepAliveTimer = clock.setTimeout(() => {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      if (!this.audioSinceKeepAliveCheck) this.sendText(message);
      this.audioSinceKeepAliveCheck = false;
      this.keepAlive(message, quietMs, clock);
    }, quietMs);
  }

  stopKeepAlive(): void {
    this.keepAliveTimer?.cancel();
    this.keepAliveTimer = undefined;
  }

  /**
   * Ends a connection that is open or still opening: an open one with a close frame carrying `code`
   * (or dropped, with `drop`), one still opening is dropped. A closing or closed one is left alone.
   */
  close(code: number, how: { drop?: boolean } = {}): void {
    this.stopKeepAlive();
    this.replyWatchdog?.stop();
    const state = this.ws.readyState;
    if (state === WebSocket.OPEN && !how.drop) this.ws.close(code);
    else if (state === WebSocket.OPEN || state === WebSocket.CONNECTING) this.ws.terminate();
  }

  /** Drops the socket at once, whatever its state. */
  terminate(): void {
    this.stopKeepAlive();
    this.replyWatchdog?.stop();
    this.ws.terminate();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.replyWatchdog?.stop();
    const { vendor, peer } = this.options;
    if (isBinary) {
      this.emit('failure', new Error(`${vendor}: unexpected binary message (${data.byteLength} bytes) from ${peer}`));
      return;
    }
    const text = data.toString('utf8');
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.emit('failure', new Error(`${vendor}: malformed JSON from ${peer}: ${snippet(text)}`));
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.emit('failure', new Error(`${vendor}: expected a JSON object from ${peer}, got ${snippet(text)}`));
      return;
    }
    this.emit('message', message as Record<string, unknown>, text);
  }

  private stalled(ms: number, setting: string): void {
    const { vendor, peer, replyIdle } = this.options;
    // A stream whose audio paused (a carrier gap, a caller on hold) owes no answer: that is not the recognizer's stall.
    if (replyIdle && replyIdle.clock.now() - this.lastAudioAt >= replyIdle.ms / 2) return;
    this.stopKeepAlive();
    this.emit('failure', new Error(`${vendor}: ${peer} sent nothing for ${ms} ms while audio was being sent (${setting}); the connection was dropped`));
    this.ws.terminate();
  }

  private onRefused(res: IncomingMessage): void {
    const body = new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (): void => {
        res.destroy();
        resolve(Buffer.concat(chunks).toString('utf8').trim());
      };
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_REFUSAL_BODY) chunks.push(chunk);
        size += chunk.byteLength;
      });
      res.once('end', done);
      res.once('error', done);
    });
    this.emit('refused', { status: res.statusCode ?? 0, headers: res.headers, body });
  }

  private connectionError(err: Error): Error {
    const code = (err as NodeJS.ErrnoException).code;
    return new Error(`${this.options.vendor}: connection error${code ? ` (${code})` : ''}: ${err.message}`);
  }
}

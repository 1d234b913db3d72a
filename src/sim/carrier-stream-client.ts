/**
 * The carrier's side of an audio stream WebSocket, whatever the carrier: connects (signed upgrade) to
 * the application, sends the party's voice (and, on request, what the party hears) one frame every
 * 20 ms on the shared ticker, forwards key presses, and for bidirectional streams plays the audio the
 * application sends into the party's ear in real time, acknowledging named markers once everything
 * before them has played. Each carrier's wire dialect (Plivo's playAudio/checkpoint, Twilio's
 * media/mark) is a subclass. Protocol mistakes by the application are logged and counted, and the
 * offending message is dropped, as the real carriers silently play nothing.
 */
import WebSocket from 'ws';
import type { TimerHandle } from '../runtime/clock.js';
import { resample } from '../media/resample.js';
import { PlayoutQueue } from './playout-queue.js';
import { LatenessHistogram } from './realtime-ticker.js';
import { FRAME_SAMPLES_8K, type AnySimCall } from './simulated-call.js';
import { HEARD_RATE } from './virtual-party.js';

export interface StreamStats {
  framesSent: number;
  /** 20 ms (8 kHz) frames of audio received from the application. */
  framesReceived: number;
  /** 20 ms frames of that audio played into the party's ear. */
  framesPlayed: number;
  /** Audio messages received (Plivo playAudio, Twilio media). */
  audioMessages: number;
  /** Markers received (Plivo checkpoint, Twilio mark), waiting for the audio before them to play. */
  marksReceived: number;
  /** Markers acknowledged (Plivo checkpoint -> playedStream, Twilio mark echoed). */
  marksAcked: number;
  protocolErrors: number;
  lateness: LatenessHistogram;
}

/** Which audio a stream carries: the party's voice (`inbound`) and/or what the party hears (`outbound`). */
export type StreamTrack = 'inbound' | 'outbound';

export interface CarrierStreamOptions {
  url: string;
  /** The signed headers of the upgrade request. */
  headers: Record<string, string>;
  /** Format recorded on the timeline (`audio/x-mulaw;rate=8000`). */
  contentType: string;
  sampleRate: number;
  tracks: readonly StreamTrack[];
  /** Plays what the application sends; otherwise the stream is listen-only. */
  bidirectional: boolean;
  /** Forwards the party's key presses to the application (and consumes them). */
  forwardsKeys: boolean;
  /** The carrier closes the stream after this long. */
  streamTimeoutSec?: number;
  /** The carrier rejects larger messages. */
  maxMessageBytes?: number;
  /** Names the carrier in protocol error messages. */
  carrier: string;
}

export abstract class CarrierStreamClient {
  abstract readonly streamId: string;
  readonly stats: StreamStats = {
    framesSent: 0,
    framesReceived: 0,
    framesPlayed: 0,
    audioMessages: 0,
    marksReceived: 0,
    marksAcked: 0,
    protocolErrors: 0,
    lateness: new LatenessHistogram(),
  };
  /** Resolves with the reason once the socket is closed (by either side) or never opened. */
  readonly closed: Promise<string>;
  /** The frame index of the first frame sent, for stream-relative timestamps. */
  protected firstFrame = -1;
  protected ws: WebSocket | undefined;
  protected queue: PlayoutQueue | undefined;
  private resolveClosed!: (reason: string) => void;
  private cleanups: (() => void)[] = [];
  private timeout: TimerHandle | undefined;
  private closeReason: string | undefined;
  private finished = false;
  private readonly mouth: Int16Array;

  constructor(
    protected readonly call: AnySimCall,
    readonly config: CarrierStreamOptions,
  ) {
    this.mouth = new Int16Array((config.sampleRate * 20) / 1000);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** The first messages on a new socket (connected/start). */
  protected abstract sendStart(): void;
  /** One frame of one track, PCM at the stream's rate; `timestamp` is the frame's start on the call clock. */
  protected abstract sendMedia(track: StreamTrack, pcm: Int16Array, frameIndex: number, timestamp: number): void;
  /** A key the party pressed. */
  protected abstract sendKey(digit: string): void;
  /** A parsed JSON message from the application. */
  protected abstract onMessage(msg: Record<string, unknown>): void;
  /** Last words before the carrier closes the socket (Twilio's `stop`). */
  protected beforeClose(): void {}

  /** Connects and sends the start messages; resolves false when the connection failed (already logged). */
  open(): Promise<boolean> {
    const { call, config } = this;
    if (call.faults.streamNeverOpens) {
      call.warn(`stream ${config.url}: never opened (injected fault: the connection attempt hangs)`);
      return new Promise((resolve) => {
        const giveUp = () => {
          this.finish('never opened');
          resolve(false);
        };
        if (call.signal.aborted) giveUp();
        else call.signal.addEventListener('abort', giveUp, { once: true });
      });
    }
    return new Promise((resolve) => {
      let opened = false;
      const ws = new WebSocket(config.url, { headers: config.headers, perMessageDeflate: false, handshakeTimeout: 10_000 });
      this.ws = ws;
      ws.on('open', () => {
        opened = true;
        this.onOpen();
        resolve(true);
      });
      ws.on('unexpected-response', (_req, res) => {
        call.warn(`stream ${config.url}: upgrade rejected with HTTP ${res.statusCode}`);
        ws.terminate();
      });
      ws.on('error', (err) => {
        if (!opened) call.warn(`stream ${config.url}: could not connect: ${err.message}`);
        else call.logger.warn({ err: err.message, streamId: this.streamId }, 'stream socket error');
      });
      ws.on('message', (data, isBinary) => this.onRawMessage(data as Buffer, isBinary));
      ws.on('close', (code, reason) => {
        if (!opened) resolve(false);
        this.finish(this.closeReason ?? `socket closed by the server (code ${code}${reason.length ? `, ${reason.toString()}` : ''})`);
      });
    });
  }

  /** Closes the stream from the carrier's side (hangup, transfer, timeout, documents replaced). */
  close(reason: string): void {
    if (this.closeReason === undefined && this.ws?.readyState === WebSocket.OPEN) this.beforeClose();
    this.closeReason ??= reason;
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) this.ws.close(1000, reason.slice(0, 100));
    else this.finish(reason);
  }

  private onOpen(): void {
    const { call, config } = this;
    this.sendStart();
    call.record({ type: 'stream-start', streamId: this.streamId, url: config.url, contentType: config.contentType });
    if (config.bidirectional) {
      const queue = new PlayoutQueue();
      this.queue = queue;
      const removeEar = call.addEarSource({
        label: 'stream',
        pull: (out) => {
          const n = queue.pull(out);
          if (n > 0) {
            this.stats.framesPlayed += n / FRAME_SAMPLES_8K;
            call.env.stats.framesPlayed += n / FRAME_SAMPLES_8K;
          }
          return n;
        },
      });
      this.cleanups.push(removeEar, () => queue.clear(false));
    }
    this.cleanups.push(call.addFrameTap((i, due, now, ear) => this.onFrame(i, due, now, ear)));
    if (config.forwardsKeys) this.cleanups.push(call.addKeyListener((digit) => this.onKey(digit)));
    this.cleanups.push(call.addCloser((reason) => this.close(reason)));
    if (config.streamTimeoutSec !== undefined) {
      this.timeout = call.env.clock.setTimeout(() => this.close('streamTimeout reached'), config.streamTimeoutSec * 1000);
    }
  }

  private finish(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.timeout?.cancel();
    for (const c of this.cleanups) c();
    this.cleanups = [];
    if (this.ws) this.call.record({ type: 'stream-stop', streamId: this.streamId, reason });
    this.resolveClosed(reason);
  }

  /** True while messages can be sent. */
  protected get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  protected send(text: string): void {
    if (this.isOpen) this.ws!.send(text);
  }

  // ---- carrier -> application ----

  private onFrame(frameIndex: number, dueAt: number, now: number, ear: Int16Array): void {
    if (!this.isOpen) return;
    if (this.firstFrame < 0) this.firstFrame = frameIndex;
    const stopsAfterMs = this.call.faults.mediaStopsAfterMs;
    if (stopsAfterMs !== undefined && (frameIndex - this.firstFrame) * 20 >= stopsAfterMs) return;
    const rate = this.config.sampleRate;
    const timestamp = dueAt - 20;
    for (const track of this.config.tracks) {
      if (track === 'inbound') {
        this.call.party.speak(frameIndex, rate, this.mouth);
        this.sendMedia('inbound', this.mouth, frameIndex, timestamp);
      } else {
        this.sendMedia('outbound', rate === HEARD_RATE ? ear : resample(ear, HEARD_RATE, rate), frameIndex, timestamp);
      }
      this.stats.framesSent++;
      this.call.env.stats.framesSent++;
    }
    const late = now - dueAt;
    this.stats.lateness.record(late);
    this.call.env.stats.frameLateness.record(late);
  }

  private onKey(digit: string): boolean {
    if (!this.isOpen) return false;
    this.sendKey(digit);
    return true;
  }

  // ---- application -> carrier ----

  protected protocolError(message: string): void {
    this.stats.protocolErrors++;
    this.call.env.stats.protocolErrors++;
    this.call.warn(`stream protocol error: ${message}`, { streamId: this.streamId });
  }

  private onRawMessage(data: Buffer, isBinary: boolean): void {
    const { carrier, maxMessageBytes } = this.config;
    if (isBinary) return this.protocolError(`binary WebSocket message (${carrier} expects JSON text frames)`);
    if (maxMessageBytes !== undefined && data.length > maxMessageBytes) {
      return this.protocolError(`message of ${data.length} bytes exceeds ${carrier}'s ${maxMessageBytes / 1024} KB limit; dropped`);
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.protocolError('message is not valid JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.protocolError('message is not a JSON object');
    this.onMessage(msg as Record<string, unknown>);
  }

  /** Queues 8 kHz PCM the application sent for the party to hear. */
  protected playToParty(pcm: Int16Array): void {
    this.stats.audioMessages++;
    this.stats.framesReceived += pcm.length / FRAME_SAMPLES_8K;
    this.call.env.stats.framesReceived += pcm.length / FRAME_SAMPLES_8K;
    this.queue!.push(pcm);
  }

  /** Runs `ack` (and records the marker) once everything queued before it has played. */
  protected markWhenPlayed(name: string, ack: () => void): void {
    this.stats.marksReceived++;
    this.queue!.mark(() => {
      this.stats.marksAcked++;
      ack();
      this.call.record({ type: 'checkpoint', streamId: this.streamId, name });
    });
  }

  /**
   * Drops the queued audio. Markers queued behind it are dropped too (Plivo) or acknowledged at once
   * (Twilio echoes every pending mark on clear). Records the cut and returns how much was dropped.
   */
  protected clearPlayout(acknowledgePendingMarks: boolean): void {
    const droppedMs = Math.round((this.queue!.pendingSamples * 1000) / HEARD_RATE);
    this.queue!.clear(acknowledgePendingMarks);
    this.call.record({ type: 'cleared', streamId: this.streamId, droppedMs });
  }
}

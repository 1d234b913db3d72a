/**
 * Zero-latency doubles for the turn benchmarks (figure 3): an STT that recognizes a fixed sentence
 * the moment local endpointing says the caller stopped, and a bot that answers every caller message
 * at once from a short list (so the TTS cache serves the answers). What remains between the endpoint
 * and the first playAudio is the gateway's own work. The STT double also counts and times every
 * caller frame it is fed, which is how the benchmarks see inbound frames arrive at the gateway.
 */
import { EventEmitter } from 'node:events';
import { messageActivity, type Activity } from '../src/bots/activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../src/bots/connector.js';
import type { SttProvider, SttSession, SttSessionEventMap, SttSessionOptions } from '../src/speech/stt/provider.js';
import { ArrivalStats, FrameArrivals } from './lib/frame-arrivals.js';

export const RECOGNIZED_TEXT = 'I would like to check the status of my order.';

class ZeroLatencySttSession extends EventEmitter<SttSessionEventMap> implements SttSession {
  private readonly arrivals: FrameArrivals;
  private closed = false;

  constructor(stats: ArrivalStats) {
    super();
    this.arrivals = new FrameArrivals(stats);
  }

  write(_frame: Int16Array): void {
    if (!this.closed) this.arrivals.onFrame();
  }

  endOfUtterance(): void {
    if (!this.closed) this.emit('result', { text: RECOGNIZED_TEXT, final: true, confidence: 0.95 });
  }

  close(): void {
    this.closed = true;
  }
}

export class ZeroLatencyStt implements SttProvider {
  readonly name = 'bench-zero-latency';
  readonly arrivals = new ArrivalStats();
  sessions = 0;

  startSession(_options: SttSessionOptions): SttSession {
    this.sessions++;
    return new ZeroLatencySttSession(this.arrivals);
  }
}

export interface BotScript {
  greeting: string;
  /** Answers to caller messages, in rotation. */
  answers: string[];
}

/** Answers on the next microtask, as the flow bot does (activities never arrive inside the call). */
export class ZeroLatencyBot extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  readonly botName = 'bench-zero-latency';
  private turn = 0;

  constructor(private readonly script: BotScript) {
    super();
  }

  async start(_info: BotConversationInfo): Promise<void> {
    await Promise.resolve();
    this.emit('activities', [messageActivity(this.script.greeting)]);
  }

  async send(activity: Activity): Promise<void> {
    if (activity.type !== 'message') return;
    await Promise.resolve();
    const answer = this.script.answers[this.turn++ % this.script.answers.length];
    this.emit('activities', [messageActivity(answer)]);
  }

  async end(_reasonCode: BotDisconnectReason, _reason?: string): Promise<void> {}
}

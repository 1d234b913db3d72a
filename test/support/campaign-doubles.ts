/**
 * Campaign test doubles: a CallPlacer whose callees follow a script (never answer, reject,
 * accept...) and publish the dialer's outbound.status sequence on a clock, a notifier that records
 * callbacks, and a driver that steps a FakeClock until a condition holds.
 */
import type { Clock } from '../../src/runtime/clock.js';
import type { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import type { CallPlacer, OutboundCallRequest } from '../../src/dialer/outbound.js';
import type { OutboundReasonCode, OutboundStatusEvent } from '../../src/events/outbound-events.js';
import { OutboundRequestError } from '../../src/dialer/outbound.js';
import type { FakeClock } from './fake-clock.js';

export type CalleeScript =
  /** Picks up; presses `dtmf` (nothing when absent) and the call completes after `talkMs`. */
  | { answer: true; dtmf?: string; talkMs?: number; endReason?: string }
  /** The call fails after `afterMs` (rings out, busy line, declined, machine). */
  | { fail: OutboundReasonCode; afterMs?: number }
  /** place() itself throws: a request the dialer refuses (bad number...). */
  | { refuse: string }
  /** The dialer never reports how the call ended. */
  | { lost: true };

export interface PlacedCall {
  conversationId: string;
  request: OutboundCallRequest;
  phone: string;
  attemptNo: number;
  at: number;
}

const RING_MS = 100;

export class ScriptedCallPlacer implements CallPlacer {
  readonly placed: PlacedCall[] = [];
  live = 0;
  maxLive = 0;
  private seq = 0;
  private readonly listeners = new Set<(event: OutboundStatusEvent) => void>();

  constructor(
    private readonly clock: Clock,
    private readonly script: (phone: string, attemptNo: number) => CalleeScript,
  ) {}

  readonly subscribe = (listener: (event: OutboundStatusEvent) => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  async place(request: OutboundCallRequest): Promise<{ conversationId: string }> {
    const attemptNo = Number(request.metadata?.attemptNo);
    const callee = this.script(request.target, attemptNo);
    if ('refuse' in callee) throw new OutboundRequestError(callee.refuse);
    const conversationId = `conv-${++this.seq}`;
    this.placed.push({ conversationId, request, phone: request.target, attemptNo, at: this.clock.now() });
    this.live++;
    this.maxLive = Math.max(this.maxLive, this.live);
    // Like the real dialer, `initiated` is published before place() returns.
    this.publish({ conversationId, status: 'initiated', at: this.clock.now() });
    this.clock.setTimeout(() => this.publish({ conversationId, status: 'ringing', at: this.clock.now() }), RING_MS / 2);
    if ('lost' in callee) return { conversationId };
    if ('fail' in callee) {
      this.clock.setTimeout(() => this.end({ conversationId, status: 'failed', reasonCode: callee.fail, reason: callee.fail, at: this.clock.now() }), callee.afterMs ?? RING_MS);
    } else {
      this.clock.setTimeout(() => this.publish({ conversationId, status: 'answered', at: this.clock.now() }), RING_MS);
      this.clock.setTimeout(
        () =>
          this.end({
            conversationId,
            status: 'completed',
            at: this.clock.now(),
            dtmf: callee.dtmf ?? '',
            endReason: callee.endReason ?? (callee.dtmf ? 'bot-hangup' : 'no-input'),
            durationMs: callee.talkMs ?? 1000,
          }),
        RING_MS + (callee.talkMs ?? 1000),
      );
    }
    return { conversationId };
  }

  /** Attempts placed to `phone`, in order. */
  attemptsTo(phone: string): PlacedCall[] {
    return this.placed.filter((p) => p.phone === phone);
  }

  private end(event: OutboundStatusEvent): void {
    this.live--;
    this.publish(event);
  }

  private publish(event: OutboundStatusEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

export interface RecordedCallback {
  url: string;
  payload: Record<string, unknown>;
  idempotencyKey: string;
}

/** Records callbacks; `hang: true` returns a promise that never settles, like a stuck receiver. */
export function recordingNotifier(opts: { hang?: boolean } = {}): { notify: (url: string, payload: object, key: string) => Promise<void> | void; sent: RecordedCallback[] } {
  const sent: RecordedCallback[] = [];
  return {
    sent,
    notify(url, payload, idempotencyKey) {
      sent.push({ url, payload: payload as Record<string, unknown>, idempotencyKey });
      if (opts.hang) return new Promise<void>(() => undefined);
    },
  };
}

/**
 * Steps the clock by `stepMs` (letting the runner finish its store work after each step) until
 * `done` holds; fails after `maxMs` of simulated time.
 */
export async function advanceUntil(
  clock: FakeClock,
  runner: CampaignRunner,
  done: () => boolean | Promise<boolean>,
  opts: { stepMs?: number; maxMs?: number } = {},
): Promise<number> {
  const stepMs = opts.stepMs ?? 50;
  const maxMs = opts.maxMs ?? 3_600_000;
  const startedAt = clock.now();
  for (;;) {
    await runner.settled();
    if (await done()) return clock.now() - startedAt;
    if (clock.now() - startedAt > maxMs) throw new Error(`condition not met within ${maxMs} ms of simulated time`);
    clock.advance(stepMs);
  }
}

/** Becomes true once the runner reports the campaign completed or cancelled. */
export function campaignEnded(runner: CampaignRunner, campaignId: string): () => boolean {
  let ended = false;
  runner.onEvent((e) => {
    if (e.type === 'campaign.status' && e.campaignId === campaignId && (e.status === 'completed' || e.status === 'cancelled')) ended = true;
  });
  return () => ended;
}

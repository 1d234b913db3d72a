/** In-process doubles for controller tests: a leg that records commands and a bot driven by the test. */
import { EventEmitter } from 'node:events';
import type { Activity } from '../../src/bots/activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../../src/bots/connector.js';
import type { CallEnd, CallInfo, CarrierLeg, LegCapabilities, LegEventMap, LegSampleRate, TransferRequest } from '../../src/carriers/leg.js';
import type { PromptAudioSource } from '../../src/call/prompt-audio.js';
import type { TtsRequest } from '../../src/speech/tts/provider.js';
import type { SttProvider, SttSession, SttSessionEventMap, SttSessionOptions } from '../../src/speech/stt/provider.js';

export type LegCommand =
  | { kind: 'play'; samples: number }
  | { kind: 'mark'; name: string }
  | { kind: 'clear' }
  | { kind: 'sendDtmf'; digits: string }
  | { kind: 'transfer'; target: string; mode?: 'blind' | 'bridge'; headers?: Record<string, string>; referredBy?: string }
  | { kind: 'sendMetadata'; metadata: unknown }
  | { kind: 'hangup'; reason: string };

export interface RecordingLegOptions {
  /** What the leg's call control can do; each capability is on unless set to false here. */
  capabilities?: Partial<LegCapabilities>;
  /** The carrier name the leg reports (log lines name it). */
  carrier?: string;
  /** Whether the leg confirms a clear with a `cleared` event, as carriers should (default true). */
  confirmsClear?: boolean;
}

/** A carrier leg whose playout the test controls: marks are acknowledged when the test says audio played. */
export class RecordingLeg extends EventEmitter<LegEventMap> implements CarrierLeg {
  readonly carrier: string;
  readonly capabilities: LegCapabilities;
  readonly commands: LegCommand[] = [];
  private pendingMarks: string[] = [];
  private readonly confirmsClear: boolean;
  private transferRefusal: string | undefined;
  private dtmfRefusal: string | undefined;

  private ended = false;

  constructor(
    readonly callId = 'call-1',
    readonly sampleRate: LegSampleRate = 8000,
    options: RecordingLegOptions = {},
  ) {
    super();
    this.carrier = options.carrier ?? 'test';
    this.capabilities = { transfer: true, bridgeTransfer: false, sendDtmf: true, sendMetadata: false, record: false, ...options.capabilities };
    this.confirmsClear = options.confirmsClear ?? true;
  }

  /** From now on the carrier rejects transfers with `reason` (the transfer is still recorded as asked). */
  refuseTransfers(reason: string): void {
    this.transferRefusal = reason;
  }
  /** From now on sendDtmf throws `reason`, as a leg does for digits it cannot send (nothing is recorded). */
  refuseDtmf(reason: string): void {
    this.dtmfRefusal = reason;
  }

  play(samples: Int16Array): void {
    this.commands.push({ kind: 'play', samples: samples.length });
  }
  mark(name: string): void {
    this.commands.push({ kind: 'mark', name });
    this.pendingMarks.push(name);
  }
  clear(): void {
    this.commands.push({ kind: 'clear' });
    this.pendingMarks = [];
    if (this.confirmsClear) queueMicrotask(() => this.emit('cleared'));
  }
  sendDtmf(digits: string): void {
    if (this.dtmfRefusal) throw new Error(this.dtmfRefusal);
    this.commands.push({ kind: 'sendDtmf', digits });
  }
  async transfer({ target, mode, headers, referredBy }: TransferRequest): Promise<void> {
    // Only the blind default is left out, so tests written before modes existed still match.
    this.commands.push({ kind: 'transfer', target, ...(mode && mode !== 'blind' ? { mode } : {}), ...(headers && Object.keys(headers).length ? { headers } : {}), ...(referredBy ? { referredBy } : {}) });
    if (this.transferRefusal) throw new Error(this.transferRefusal);
  }
  async hangup(reason: string): Promise<void> {
    this.commands.push({ kind: 'hangup', reason });
  }
  async sendMetadata(metadata: unknown): Promise<void> {
    this.commands.push({ kind: 'sendMetadata', metadata });
  }
  endFromCarrier(end: CallEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('hangup', { cause: end.cause, side: end.side });
  }

  /** The carrier reports that everything queued so far has played. */
  playedAll(): void {
    const marks = this.pendingMarks;
    this.pendingMarks = [];
    for (const m of marks) this.emit('mark', m);
  }
  /** Acknowledges only the oldest outstanding mark (one prompt finished). */
  playedOne(): void {
    const m = this.pendingMarks.shift();
    if (m) this.emit('mark', m);
  }
  count(kind: LegCommand['kind']): number {
    return this.commands.filter((c) => c.kind === kind).length;
  }
}

/** A bot the test scripts: it records what the gateway sent and emits what the test tells it to. */
export class ScriptedBot extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  readonly botName = 'scripted';
  wantsPromptInterruptions = false;
  readonly received: Activity[] = [];
  startInfo: BotConversationInfo | undefined;
  endedWith: BotDisconnectReason | undefined;

  constructor(private readonly onStart: Partial<Activity>[] = []) {
    super();
  }

  async start(info: BotConversationInfo): Promise<void> {
    this.startInfo = info;
    if (this.onStart.length) this.say(...this.onStart);
  }
  async send(activity: Activity): Promise<void> {
    this.received.push(activity);
  }
  async end(reason: BotDisconnectReason): Promise<void> {
    this.endedWith ??= reason;
  }
  say(...activities: Partial<Activity>[]): void {
    this.emit(
      'activities',
      activities.map((a, i) => ({ id: `bot-${this.received.length}-${i}`, timestamp: new Date(0).toISOString(), type: 'message' as const, ...a })),
    );
  }
  events(name: string): Activity[] {
    return this.received.filter((a) => a.type === 'event' && a.name === name);
  }
}

/** Prompt audio as a plain tone: 1 s of audio per prompt unless `durationsMs` says otherwise. */
export class ToneAudioSource implements PromptAudioSource {
  readonly spoken: TtsRequest[] = [];
  constructor(private readonly durationsMs: Record<string, number> = {}) {}

  async *speak(req: TtsRequest): AsyncIterable<Int16Array> {
    this.spoken.push(req);
    yield* this.tone(this.durationsMs[req.text] ?? 1000, req.sampleRate);
  }
  async *playUrl(url: string, opts: { sampleRate: number }): AsyncIterable<Int16Array> {
    yield* this.tone(this.durationsMs[url] ?? 1000, opts.sampleRate);
  }
  private *tone(ms: number, rate: number): Iterable<Int16Array> {
    const n = Math.round((rate * ms) / 1000);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    yield out;
  }
}

export const testCallInfo: CallInfo = {
  callId: 'call-1',
  carrier: 'test',
  carrierCallId: 'carrier-1',
  direction: 'inbound',
  from: '+15551230001',
  to: '+15559870002',
};

/** Lets queued promise callbacks (prompt pump, bot sends) run; no wall-clock time passes. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A recognizer the test speaks for: it emits the results the test hands it. */
export class ScriptedSttSession extends EventEmitter<SttSessionEventMap> implements SttSession {
  frames = 0;
  endsOfUtterance = 0;
  closed = false;
  write(): void {
    this.frames++;
  }
  endOfUtterance(): void {
    this.endsOfUtterance++;
  }
  close(): void {
    this.closed = true;
  }
  hear(text: string, final = false): void {
    this.emit('result', { text, final });
  }
}

export class ScriptedStt implements SttProvider {
  readonly name = 'scripted';
  /** The latest session and its options. */
  session: ScriptedSttSession | undefined;
  options: SttSessionOptions | undefined;
  /** Every session opened, oldest first (a mid-call language change opens a new one). */
  readonly sessions: { options: SttSessionOptions; session: ScriptedSttSession }[] = [];
  startSession(options: SttSessionOptions): SttSession {
    this.options = options;
    this.session = new ScriptedSttSession();
    this.sessions.push({ options, session: this.session });
    return this.session;
  }
}

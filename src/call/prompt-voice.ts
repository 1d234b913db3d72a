/**
 * Speaking and playing to the caller. Prompts go through the PromptQueue to the leg's media output
 * (recorded on the way, clears watched for the carrier's confirmation); each is written to the transcript when queued and to the prompt records
 * when it ends. What happens to prompts is announced as events: the bot channel reports them to the
 * bot, the call exit waits for `idle`.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { LegMedia, LegSampleRate } from '../carriers/leg.js';
import { TtsError } from '../speech/tts/provider.js';
import type { CallRecording } from './call-recording.js';
import type { PromptAudioSource } from './prompt-audio.js';
import { PromptQueue, type Prompt, type PromptOutcome } from './prompt-queue.js';
import { ClearConfirmationWatch } from './clear-confirmation.js';
import { RecordedOutput } from './recorded-output.js';
import type { CallSettings } from './settings.js';
import type { CallScope } from './session-types.js';

/** A prompt the caller heard at least the start of. */
export type PlayedPrompt = PromptOutcome & { startedAt: number };

export interface PromptVoiceEventMap {
  /** A prompt was queued: the bot is talking, nobody waits for the caller meanwhile. */
  queued: [];
  /** A prompt's first audio went to the carrier (turn timing). */
  audioStarted: [prompt: Prompt, at: number];
  /** A prompt was heard in full or cut. Not emitted once the voice is closed: the call is over. */
  ended: [outcome: PlayedPrompt];
  /** A playUrl prompt's audio could not be fetched; it was skipped and the call goes on. */
  urlFailed: [prompt: Prompt, error: Error];
  /** A spoken prompt could not be synthesized. */
  synthesisFailed: [prompt: Prompt, error: Error];
  /** Nothing is queued or playing any more. */
  idle: [];
}

export interface SayOptions {
  /** Whose words the transcript shows: the bot's (its messages, reprompts) or the gateway's own (apology, please-wait). */
  who: 'bot' | 'system';
  /** The bot activity spoken, when the prompt answers one. */
  activityId?: string;
  ssml?: boolean;
  language?: string;
}

export interface PlayRequest {
  url: string;
  /** What the transcript and records show for the audio. */
  label: string;
  mediaFormat?: string;
  activityId?: string;
}

export class PromptVoice extends EventEmitter<PromptVoiceEventMap> {
  private readonly queue: PromptQueue;
  private readonly output: ClearConfirmationWatch;
  private closed = false;

  constructor(
    private readonly leg: LegMedia,
    private readonly audio: PromptAudioSource,
    recording: CallRecording,
    private readonly scope: CallScope,
  ) {
    super();
    // The output chain: the queue plays into a clear-confirmation watch, over the recording, over the leg.
    this.output = new ClearConfirmationWatch(new RecordedOutput(leg, recording), leg, scope);
    this.queue = new PromptQueue(this.output, scope.clock);
    leg.on('mark', (name) => this.queue.onMark(name));
    this.queue.on('finished', (o) => this.finished(o));
    this.queue.on('failed', (prompt, err) => this.failed(prompt, err));
    this.queue.on('audioStarted', (prompt, at) => this.emit('audioStarted', prompt, at));
    this.queue.on('idle', () => this.emit('idle'));
  }

  get sampleRate(): LegSampleRate {
    return this.leg.sampleRate;
  }

  /** The prompt the caller is hearing (or about to hear), if any. */
  get current(): Prompt | undefined {
    return this.queue.current;
  }

  get busy(): boolean {
    return this.queue.busy;
  }

  /** Speaks text to the caller (bot message, reprompt, apology) and writes it to the transcript. */
  say(text: string, s: CallSettings, opts: SayOptions): void {
    this.writeTranscript(opts.who, text);
    const req = { text, ssml: opts.ssml, language: opts.language ?? s.ttsLanguage ?? s.language, voice: s.voiceName, sampleRate: this.leg.sampleRate };
    const onFallback = (error: Error, fallback: string) => this.fallbackSpoke(error, fallback);
    this.enqueue(text, s, opts.activityId, (signal) => this.audio.speak(req, { noCache: s.disableTtsCache, signal, firstAudioTimeoutMs: s.ttsTimeoutMS, log: this.scope.log, onFallback }));
  }

  /** Plays audio from a URL (the bot's playUrl), shown in the transcript by its label. */
  play(req: PlayRequest, s: CallSettings): void {
    this.writeTranscript('bot', req.label);
    const source = (signal: AbortSignal) => this.audio.playUrl(req.url, { mediaFormat: req.mediaFormat, sampleRate: this.leg.sampleRate, signal });
    this.enqueue(req.label, s, req.activityId, source, req.url);
  }

  /** Barge-in: the caller interrupted; what plays is cut and what is queued dropped. */
  interrupt(by: 'speech' | 'dtmf'): void {
    const cut = this.queue.clear();
    if (cut.length) this.scope.log.info({ by, cutPrompts: cut.length }, 'barge-in: playback cleared');
  }

  /** The bot asked to stop talking (abortPrompts). */
  abort(): void {
    this.queue.clear();
  }

  /** The call is over: nothing more plays, and nothing more is reported. */
  close(): void {
    this.closed = true;
    this.queue.close();
    this.output.close();
  }

  private writeTranscript(who: 'bot' | 'system', text: string): void {
    const { bus, callId, clock } = this.scope;
    bus.publish('transcript', { callId, at: clock.now(), who, text });
  }

  /** `playUrl` names the URL for prompts that play a file rather than speak. */
  private enqueue(text: string, settings: CallSettings, activityId: string | undefined, audio: Prompt['audio'], playUrl?: string): void {
    this.emit('queued');
    this.queue.enqueue({ id: randomUUID(), activityId, text, playUrl, bargeIn: settings.bargeIn, bargeInOnDTMF: settings.bargeInOnDTMF, audio });
  }

  private finished(o: PromptOutcome): void {
    const { startedAt } = o;
    if (startedAt === undefined) return; // purged before any of it played
    this.scope.bus.publish('prompt.played', { callId: this.scope.callId, promptId: o.prompt.id, text: o.prompt.text, startedAt, endedAt: o.endedAt, heardInFull: o.heardInFull });
    if (!this.closed) this.emit('ended', { ...o, startedAt });
  }

  /** The call goes on in the fallback voice; the failed provider still counts (metrics, alarms). */
  private fallbackSpoke(error: Error, fallback: string): void {
    const { bus, callId, clock } = this.scope;
    const provider = error instanceof TtsError ? error.provider : 'tts';
    bus.publish('provider.error', { kind: 'tts', provider, callId, error: error.message, at: clock.now(), fallback });
  }

  private failed(prompt: Prompt, err: Error): void {
    if (prompt.playUrl) {
      this.scope.log.error({ err, url: prompt.playUrl }, 'playUrl audio failed; skipped');
      this.emit('urlFailed', prompt, err);
      return;
    }
    this.scope.log.error({ err, promptId: prompt.id }, 'prompt could not be synthesized');
    this.emit('synthesisFailed', prompt, err);
  }
}

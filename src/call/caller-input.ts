/**
 * The caller's side of the call: their audio (recorded, recognized, watched by the VAD) and key
 * presses, the barge-in decisions they trigger, continuous-ASR and DTMF collection, and the no-input
 * timer that reprompts a silent caller. Emits the caller's complete turns; the session hands them to
 * the bot.
 */
import { EventEmitter } from 'node:events';
import { eventActivity } from '../bots/activity.js';
import type { LegMedia } from '../carriers/leg.js';
import { VoiceActivityDetector } from '../media/vad.js';
import type { SttProvider, SttResult } from '../speech/stt/provider.js';
import { BargeInPolicy } from './barge-in-policy.js';
import type { BotChannel } from './bot-channel.js';
import { CallRecognizer } from './call-recognizer.js';
import type { CallRecording } from './call-recording.js';
import { DtmfCollector, dtmfCollectOptions } from './dtmf-collector.js';
import type { LiveSettings } from './live-settings.js';
import { NoInputTimer, callerNoInputOptions } from './no-input-timer.js';
import type { PromptVoice } from './prompt-voice.js';
import type { CallSettings } from './settings.js';
import type { CallScope, CallerTurn } from './session-types.js';
import { UtteranceCollector, utteranceOptions } from './utterance-collector.js';

const DTMF_DIGITS = /^[0-9*#A-D]$/;

export interface CallerInputEventMap {
  /** The caller finished a turn: an utterance (or several collected), or keys. */
  turn: [turn: CallerTurn];
  /** The recognizer failed, or gave no final result in time. */
  failed: [error: Error];
  /** The caller stayed silent through every reprompt. */
  gaveUp: [attempts: number];
}

export interface CallerInputDeps {
  leg: LegMedia;
  settings: LiveSettings;
  voice: PromptVoice;
  channel: BotChannel;
  recording: CallRecording;
  stt?: SttProvider;
  scope: CallScope;
}

export class CallerInput extends EventEmitter<CallerInputEventMap> {
  private readonly bargeIn = new BargeInPolicy();
  private readonly dtmf: DtmfCollector;
  private readonly utterances: UtteranceCollector;
  private readonly noInput: NoInputTimer;
  private vad: VoiceActivityDetector;
  private recognizer: CallRecognizer | undefined;
  private closed = false;
  private readonly onAudio = (frame: Int16Array) => this.handleAudio(frame);
  private readonly onDtmf = (digit: string) => this.handleDtmf(digit);

  constructor(private readonly deps: CallerInputDeps) {
    super();
    const { clock } = deps.scope;
    const s = deps.settings.current;
    this.dtmf = new DtmfCollector(clock, dtmfCollectOptions(s));
    this.utterances = new UtteranceCollector(clock, utteranceOptions(s));
    this.noInput = new NoInputTimer(clock, callerNoInputOptions(s));
    this.vad = this.createVad(s);
    deps.settings.on('changed', (now, before) => this.reconfigure(now, before));
    // While the bot talks nobody waits for the caller; playout's end arms the timer again (awaitCaller).
    deps.voice.on('queued', () => this.noInput.pause());
    this.dtmf.on('submit', (digits) => this.emit('turn', { kind: 'dtmf', digits }));
    this.utterances.on('submit', (text, parts) => this.emit('turn', { kind: 'speech', text, parameters: { recognitions: parts } }));
    this.noInput.on('reprompt', (attempt) => this.reprompt(attempt));
    this.noInput.on('giveUp', (attempts) => {
      deps.scope.log.info({ attempts }, 'no caller input: giving up');
      this.emit('gaveUp', attempts);
    });
  }

  /** The speech recognizer's provider, once recognition runs. */
  get sttProvider(): string | undefined {
    return this.recognizer?.providerName;
  }

  /** Starts taking the caller's audio and keys, and opens recognition when the call has STT. */
  listen(): void {
    this.deps.leg.on('audio', this.onAudio);
    this.deps.leg.on('dtmf', this.onDtmf);
    if (this.deps.stt) this.openRecognizer(this.deps.stt);
  }

  /** The caller has heard everything: their turn; the no-input timer runs. */
  awaitCaller(): void {
    this.noInput.arm();
  }

  /** The bot is thinking or the call is failing over: stop the no-input timer, keep its count. */
  stopWaiting(): void {
    this.noInput.pause();
  }

  /** The call is over: nothing more is taken from the caller; collected input is dropped. */
  close(): void {
    this.closed = true;
    this.deps.leg.off('audio', this.onAudio);
    this.deps.leg.off('dtmf', this.onDtmf);
    this.noInput.pause();
    this.dtmf.reset();
    this.utterances.reset();
    this.recognizer?.close();
  }

  private get settings(): CallSettings {
    return this.deps.settings.current;
  }

  private handleAudio(frame: Int16Array): void {
    const { recording, voice, channel } = this.deps;
    recording.callerAudio(frame);
    this.recognizer?.write(frame);
    const event = this.vad.process(frame);
    if (!event) return;
    if (event.type === 'speech-end') {
      this.recognizer?.endOfUtterance();
      this.utterances.speechEnded();
      channel.callerStoppedSpeaking();
      return;
    }
    this.utterances.speechStarted();
    channel.callerStartedSpeaking();
    const decision = this.bargeIn.onSpeech(voice.current);
    if (decision === 'ignore') return;
    // With a word minimum the recognizer decides (onSttResult); the VAD alone cannot count words.
    if (decision === 'interrupt' && !(this.recognizer && this.settings.bargeInMinWordCount > 0)) voice.interrupt('speech');
    this.noInput.userInput();
  }

  private handleDtmf(digit: string): void {
    const { voice, scope } = this.deps;
    if (this.closed) return;
    if (!DTMF_DIGITS.test(digit)) {
      scope.log.warn({ digit }, 'ignored invalid DTMF digit');
      return;
    }
    scope.bus.publish('dtmf', { callId: scope.callId, at: scope.clock.now(), digit });
    const decision = this.bargeIn.onDtmf(voice.current);
    if (decision === 'ignore') {
      scope.log.debug({ digit }, 'DTMF during prompt ignored (barge-in on DTMF is off)');
      return;
    }
    if (decision === 'interrupt') voice.interrupt('dtmf');
    this.noInput.userInput();
    if (this.utterances.digit(digit)) return;
    if (this.settings.sendDTMF) this.dtmf.press(digit);
  }

  private onSttResult(result: SttResult): void {
    const { voice, channel, scope } = this.deps;
    if (!result.text.trim() || this.closed) return;
    const minWords = this.settings.bargeInMinWordCount;
    const playing = voice.current;
    if (playing && minWords > 0) {
      const decision = this.bargeIn.onRecognizedWords(playing, result.text.trim().split(/\s+/).length, minWords);
      if (decision === 'interrupt') voice.interrupt('speech');
      // Too few words over a playing prompt: a backchannel, neither an interruption nor a turn.
      else if (decision === 'ignore') return;
    }
    if (!result.final) {
      channel.notify('speechHypothesis', result.text);
      return;
    }
    // Speech recognized while a non-interruptible prompt plays was not meant for the bot.
    if (this.bargeIn.onSpeech(voice.current) === 'ignore') return;
    this.noInput.userInput();
    scope.bus.publish('transcript', { callId: scope.callId, at: scope.clock.now(), who: 'caller', text: result.text });
    if (this.utterances.enabled) {
      this.utterances.add(result.text);
      return;
    }
    const parameters = result.confidence === undefined ? undefined : { confidence: result.confidence };
    this.emit('turn', { kind: 'speech', text: result.text, parameters });
  }

  /** The caller said nothing in time: reprompt (speech and/or a noUserInput event), or keep waiting. */
  private reprompt(attempt: number): void {
    const s = this.settings;
    const { scope, channel, voice } = this.deps;
    scope.log.info({ attempt }, 'no caller input: reprompting');
    if (s.userNoInputSendEvent || s.sendEventsToBot.includes('noUserInput')) channel.send(eventActivity('noUserInput', { value: attempt }, scope.clock.now()));
    if (s.userNoInputSpeech) {
      voice.say(s.userNoInputSpeech, s, { who: 'bot' });
    } else if (!s.userNoInputSendEvent) {
      this.noInput.arm();
    }
  }

  private reconfigure(now: CallSettings, before: CallSettings): void {
    if (before.bargeInMinSpeechMs !== now.bargeInMinSpeechMs || before.vadSilenceMs !== now.vadSilenceMs) this.vad = this.createVad(now);
    this.dtmf.configure(dtmfCollectOptions(now));
    this.utterances.configure(utteranceOptions(now));
    this.noInput.configure(callerNoInputOptions(now));
    this.recognizer?.configure(now);
  }

  private createVad(s: CallSettings): VoiceActivityDetector {
    return new VoiceActivityDetector({ sampleRate: this.deps.leg.sampleRate, minSpeechMs: s.bargeInMinSpeechMs, silenceMs: s.vadSilenceMs });
  }

  private openRecognizer(provider: SttProvider): void {
    const { leg, scope } = this.deps;
    const recognizer = new CallRecognizer(provider, this.settings, leg.sampleRate, scope.clock, this.settings.sttTimeoutMS);
    recognizer.on('result', (r) => this.onSttResult(r));
    recognizer.on('failure', (err) => {
      scope.log.error({ err, stt: provider.name }, 'speech recognition failed');
      this.emit('failed', err);
    });
    this.recognizer = recognizer;
    recognizer.open();
  }
}

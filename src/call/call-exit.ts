/**
 * How the call ends. A hangup or transfer waits until the caller has heard everything queued. When
 * a part of the conversation fails, the failure policy apologizes, then transfers the caller to a
 * person or hangs up, so the caller is never left in silence. `end` closes the conversation once.
 */
import { EventEmitter } from 'node:events';
import type { BotChannel } from './bot-channel.js';
import type { CallRecording } from './call-recording.js';
import type { CallerInput } from './caller-input.js';
import type { TransferRequest } from '../carriers/leg.js';
import { missingCapability, type NamedCallControl } from './leg-capabilities.js';
import type { LiveSettings } from './live-settings.js';
import type { PromptVoice } from './prompt-voice.js';
import { errorMessage, type CallScope, type EndReason, type FailedPart, type SessionEnd } from './session-types.js';

type PendingHangup = { kind: 'hangup'; reason: string; endReason: EndReason };
/**
 * A transfer names the bot activity that asked for it, if one did, so a carrier refusal can be
 * reported to the bot; the failure policy's transfer names the hangup that replaces it if refused.
 */
type PendingTransfer = { kind: 'transfer'; request: TransferRequest & { mode: 'blind' | 'bridge' }; reason?: string; activityId?: string; orElse?: PendingHangup };
type PendingExit = PendingHangup | PendingTransfer;

export interface CallExitEventMap {
  ended: [end: SessionEnd];
}

export interface CallExitDeps {
  leg: NamedCallControl;
  settings: LiveSettings;
  voice: PromptVoice;
  channel: BotChannel;
  input: CallerInput;
  recording: CallRecording;
  /** The TTS provider's name, for provider errors. */
  ttsProvider?: string;
  scope: CallScope;
}

export class CallExit extends EventEmitter<CallExitEventMap> {
  private pending: PendingExit | undefined;
  private failing = false;
  private endedWith: SessionEnd | undefined;

  constructor(private readonly deps: CallExitDeps) {
    super();
    deps.voice.on('idle', () => this.onPlayoutIdle());
  }

  get ended(): SessionEnd | undefined {
    return this.endedWith;
  }

  /** Hangs up once the caller has heard everything queued. */
  requestHangup(reason: string, endReason: EndReason): void {
    if (this.pending?.kind === 'hangup' || this.endedWith) return;
    this.pending = { kind: 'hangup', reason, endReason };
    this.onPlayoutIdle();
  }

  /**
   * Transfers once the caller has heard everything queued, the way the call's transferMode says (blind
   * where the leg cannot bridge); `activityId` is the bot's transfer command, when the bot asked.
   */
  requestTransfer(transfer: { target: string; headers?: Record<string, string>; reason?: string; referredBy?: string }, activityId?: string, orElse?: PendingHangup): void {
    const { leg, scope } = this.deps;
    let mode = this.deps.settings.current.transferMode;
    const cannotBridge = mode === 'bridge' ? missingCapability(leg, 'bridgeTransfer') : undefined;
    if (cannotBridge) {
      scope.log.warn({ target: transfer.target }, `transferMode bridge not used: ${cannotBridge}; transferring blind`);
      mode = 'blind';
    }
    const request = { target: transfer.target, headers: transfer.headers ?? {}, mode, ...(transfer.referredBy ? { referredBy: transfer.referredBy } : {}) };
    this.pending = { kind: 'transfer', request, reason: transfer.reason, activityId, orElse };
    this.onPlayoutIdle();
  }

  /**
   * The bot or a speech provider failed: apologize, then transfer to a person or hang up, so the
   * caller is never left in silence. (When TTS itself failed, the apology goes to the fallback voice.)
   */
  failed(part: FailedPart, err?: unknown): void {
    const { scope, channel, input, voice, leg } = this.deps;
    const provider = part === 'bot' ? channel.botName : part === 'stt' ? (input.sttProvider ?? 'stt') : (this.deps.ttsProvider ?? 'tts');
    const error = errorMessage(err);
    scope.bus.publish('provider.error', { kind: part, provider, callId: scope.callId, error, at: scope.clock.now() });
    if (this.failing || this.endedWith) return;
    this.failing = true;
    if (part === 'bot') channel.turnFailed('bot-error', error);
    input.stopWaiting();
    channel.stopWaiting();
    const s = this.deps.settings.current;
    if (s.failureSpeech) voice.say(s.failureSpeech, s, { who: 'system' });
    const target = s.failureTransferTarget;
    const cannotTransfer = target && missingCapability(leg, 'transfer');
    if (cannotTransfer) scope.log.warn({ target, carrier: leg.carrier }, `failureTransferTarget not used: ${cannotTransfer}; hanging up instead`);
    const hangup: PendingHangup = { kind: 'hangup', reason: `${part}-error`, endReason: `${part}-error` };
    if (target && !cannotTransfer) this.requestTransfer({ target, reason: `${part}-error` }, undefined, hangup);
    else this.requestHangup(hangup.reason, hangup.endReason);
  }

  /** Ends the conversation (idempotent). The leg is not touched: the caller is already gone or the hangup was sent. */
  end(end: SessionEnd): void {
    if (this.endedWith) return;
    this.endedWith = end;
    const { input, voice, recording, channel, scope } = this.deps;
    input.close();
    voice.close();
    recording.close().catch((err: unknown) => scope.log.error({ err }, 'recording could not be closed'));
    channel.close(end);
    scope.log.info({ reason: end.reason, detail: end.detail }, 'conversation ended');
    this.emit('ended', end);
  }

  /** The caller has heard everything queued: run a pending hangup/transfer, or start waiting for input. */
  private onPlayoutIdle(): void {
    const { voice, leg, scope, channel, input } = this.deps;
    if (this.endedWith || voice.busy) return;
    const action = this.pending;
    if (action?.kind === 'hangup') {
      this.end({ reason: action.endReason, byGateway: true, detail: action.reason });
      leg.hangup(action.reason).catch((err: unknown) => scope.log.error({ err }, 'carrier hangup failed'));
      return;
    }
    if (action?.kind === 'transfer') {
      this.pending = undefined;
      const { target, mode } = action.request;
      leg.transfer(action.request).then(
        () => {
          scope.bus.publish('call.transferred', { callId: scope.callId, at: scope.clock.now(), target, mode, ...(action.reason ? { reason: action.reason } : {}) });
          this.end({ reason: 'transferred', byGateway: true, detail: target });
        },
        (err: unknown) => {
          if (this.endedWith) return;
          // A failing call the carrier will not transfer is hung up: the caller is never left waiting in silence.
          if (action.orElse) {
            scope.log.error({ err, target }, 'failure transfer refused by the carrier; hanging up');
            this.requestHangup(action.orElse.reason, action.orElse.endReason);
            return;
          }
          scope.log.error({ err, target }, 'transfer failed; conversation continues');
          if (action.activityId !== undefined) channel.transferFailed(action.activityId, errorMessage(err));
          // The caller is listening again: wait for them (or for the bot's reaction) as after any prompt.
          this.onPlayoutIdle();
        },
      );
      return;
    }
    if (!channel.awaitingPromisedMessage) input.awaitCaller();
  }
}

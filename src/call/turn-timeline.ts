/**
 * Times each conversational turn: caller input complete (STT final, DTMF, start) -> sent to the bot
 * -> the bot's first answer -> its first audio out. Each turn is published once, when its answer
 * started playing or when the next turn (or the end of the call) closes it, so a slow turn can be
 * explained afterwards from the records.
 */
import type { TurnRecord } from '../store/schema.js';
import type { TurnInputKind, TurnOutcome } from '../events/call-events.js';

export interface TurnTimelineOptions {
  callId: string;
  bot: string;
  sttProvider?: string;
  ttsProvider?: string;
  publish: (turn: TurnRecord) => void;
}

export class TurnTimeline {
  private seq = 0;
  private open: { record: TurnRecord } | undefined;
  /** The VAD's end of speech, waiting for the STT final that makes it a turn. */
  private speechEndedAt: number | null = null;
  /** The last speech turn's final came before the VAD heard the caller stop: the next speech end is that utterance's, not a new one's. */
  private awaitingLateSpeechEnd = false;

  constructor(private readonly options: TurnTimelineOptions) {}

  /** The VAD heard the caller start: an end of speech heard before belongs to an earlier utterance. */
  speechStarted(): void {
    this.speechEndedAt = null;
    this.awaitingLateSpeechEnd = false;
  }

  speechEnded(at: number): void {
    // Fast-endpointing STT: the final (and its turn) came first; carried over, this end would inflate the next turn by seconds.
    if (this.awaitingLateSpeechEnd) {
      this.awaitingLateSpeechEnd = false;
      return;
    }
    this.speechEndedAt = at;
  }

  /** A caller input (or the call's start) is complete: closes the previous turn and opens one. */
  input(kind: TurnInputKind, text: string | null, at: number): void {
    this.close(at, 'no-answer');
    const speechEndedAt = kind === 'speech' ? this.speechEndedAt : null;
    this.speechEndedAt = null;
    if (kind === 'speech') this.awaitingLateSpeechEnd = speechEndedAt === null;
    this.open = {
      record: {
        callId: this.options.callId,
        seq: this.seq++,
        inputKind: kind,
        inputText: text,
        speechEndedAt,
        inputAt: at,
        botSentAt: null,
        botAnsweredAt: null,
        firstAudioAt: null,
        sttMs: speechEndedAt === null ? null : Math.max(0, at - speechEndedAt),
        botMs: null,
        ttsMs: null,
        e2eMs: null,
        sttProvider: kind === 'speech' ? (this.options.sttProvider ?? null) : null,
        ttsProvider: this.options.ttsProvider ?? null,
        bot: this.options.bot,
        outcome: 'no-answer',
        error: null,
      },
    };
  }

  botSent(at: number): void {
    const r = this.open?.record;
    if (r && r.botSentAt === null) r.botSentAt = at;
  }

  /** The bot's first activity with something for the call to do. */
  botAnswered(at: number): void {
    const r = this.open?.record;
    if (!r || r.botAnsweredAt !== null) return;
    r.botAnsweredAt = at;
    r.botMs = Math.max(0, at - (r.botSentAt ?? r.inputAt));
  }

  /** The first audio of a prompt went to the carrier: once the bot has answered, that is its answer being heard; the turn is complete. */
  audioStarted(at: number): void {
    const r = this.open?.record;
    // Audio before the bot answered is the gateway's own (please-wait, welcome message), not the answer being timed.
    if (!r || r.botAnsweredAt === null) return;
    r.firstAudioAt = at;
    r.ttsMs = Math.max(0, at - r.botAnsweredAt);
    r.e2eMs = Math.max(0, at - (r.speechEndedAt ?? r.inputAt));
    this.close(at, 'answered');
  }

  failed(outcome: Extract<TurnOutcome, 'bot-error' | 'tts-error'>, error: string, at: number): void {
    const r = this.open?.record;
    if (!r) return;
    r.error = error;
    this.close(at, outcome);
  }

  /** Publishes the open turn. Closed by a new input or the call's end, a turn the bot answered without audio is `silent`. */
  close(_at: number, outcome: TurnOutcome = 'no-answer'): void {
    const r = this.open?.record;
    if (!r) return;
    this.open = undefined;
    r.outcome = outcome === 'no-answer' && r.botAnsweredAt !== null ? 'silent' : outcome;
    this.options.publish(r);
  }
}

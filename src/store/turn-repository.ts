import type { Kysely } from 'kysely';
import { requireEpochMs, requireOneOf, requireText, StoreInputError } from './input-checks.js';
import type { TurnRecord, VoxgateDatabase } from './schema.js';
import type { TurnInputKind, TurnOutcome } from '../events/call-events.js';

const INPUT_KINDS: readonly TurnInputKind[] = ['start', 'speech', 'dtmf', 'event'];
const OUTCOMES: readonly TurnOutcome[] = ['answered', 'silent', 'no-answer', 'bot-error', 'tts-error'];

const optionalMs = (record: string, field: string, v: number | null): number | null => (v === null ? null : requireEpochMs(record, field, v));
function optionalLatency(field: string, v: number | null): number | null {
  if (v === null) return null;
  if (!Number.isFinite(v) || v < 0) throw new StoreInputError(`turn: ${field} must be a non-negative number of ms, got ${String(v)}`);
  return Math.round(v);
}

/** Per-turn timings: where the time between the caller's words and the bot's answer went. */
export class TurnRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  async add(t: TurnRecord): Promise<void> {
    const what = 'turn';
    if (!Number.isInteger(t.seq) || t.seq < 0) throw new StoreInputError(`turn: seq must be a non-negative integer, got ${String(t.seq)}`);
    await this.db
      .insertInto('turns')
      .values({
        call_id: requireText(what, 'callId', t.callId),
        seq: t.seq,
        input_kind: requireOneOf(what, 'inputKind', t.inputKind, INPUT_KINDS),
        input_text: t.inputText,
        speech_ended_at: optionalMs(what, 'speechEndedAt', t.speechEndedAt),
        input_at: requireEpochMs(what, 'inputAt', t.inputAt),
        bot_sent_at: optionalMs(what, 'botSentAt', t.botSentAt),
        bot_answered_at: optionalMs(what, 'botAnsweredAt', t.botAnsweredAt),
        first_audio_at: optionalMs(what, 'firstAudioAt', t.firstAudioAt),
        stt_ms: optionalLatency('sttMs', t.sttMs),
        bot_ms: optionalLatency('botMs', t.botMs),
        tts_ms: optionalLatency('ttsMs', t.ttsMs),
        e2e_ms: optionalLatency('e2eMs', t.e2eMs),
        stt_provider: t.sttProvider,
        tts_provider: t.ttsProvider,
        bot: requireText(what, 'bot', t.bot),
        outcome: requireOneOf(what, 'outcome', t.outcome, OUTCOMES),
        error: t.error,
      })
      .execute();
  }

  async listForCall(callId: string): Promise<TurnRecord[]> {
    const rows = await this.db.selectFrom('turns').selectAll().where('call_id', '=', callId).orderBy('seq').orderBy('id').execute();
    const n = (v: number | string | null) => (v === null ? null : Number(v));
    return rows.map((r) => ({
      callId: r.call_id,
      seq: Number(r.seq),
      inputKind: r.input_kind,
      inputText: r.input_text,
      speechEndedAt: n(r.speech_ended_at),
      inputAt: Number(r.input_at),
      botSentAt: n(r.bot_sent_at),
      botAnsweredAt: n(r.bot_answered_at),
      firstAudioAt: n(r.first_audio_at),
      sttMs: n(r.stt_ms),
      botMs: n(r.bot_ms),
      ttsMs: n(r.tts_ms),
      e2eMs: n(r.e2e_ms),
      sttProvider: r.stt_provider,
      ttsProvider: r.tts_provider,
      bot: r.bot,
      outcome: r.outcome,
      error: r.error,
    }));
  }
}

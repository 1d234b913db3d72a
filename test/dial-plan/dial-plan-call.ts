/** A real CallSession running a DialPlanBot on test doubles and a fake clock (like test/support/call-session-harness.ts). */
import { CallSession } from '../../src/call/call-session.js';
import { DEFAULT_CALL_SETTINGS, mergeSettings, type CallSettingsOverrides } from '../../src/call/settings.js';
import { EventBus, type BusEventMap } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { loadPlayUrlAudio } from '../../src/speech/play-url.js';
import { DialPlanBot, type DialPlanBotOptions } from '../../src/bots/dial-plan/dial-plan-bot.js';
import type { DialPlan, DialPlanInput } from '../../src/bots/dial-plan/dial-plan.js';
import { FakeClock } from '../support/fake-clock.js';
import { RecordingLeg, ToneAudioSource, settle, testCallInfo } from '../support/call-doubles.js';

/** Tones for speech and http URLs (as the shared doubles), but data: URLs decoded for real, so a PAUSE's silence is measurable. */
export class DialPlanAudio extends ToneAudioSource {
  readonly played: { url: string; samples: Int16Array }[] = [];

  override async *playUrl(url: string, opts: { mediaFormat?: string; sampleRate: number; signal: AbortSignal }): AsyncIterable<Int16Array> {
    if (!url.startsWith('data:')) {
      this.played.push({ url, samples: new Int16Array(0) });
      yield* super.playUrl(url, opts);
      return;
    }
    const samples = await loadPlayUrlAudio(url, opts);
    this.played.push({ url, samples });
    yield samples;
  }
}

export async function startDialPlanCall(
  plan: DialPlan | DialPlanInput,
  opts: { bot?: Omit<DialPlanBotOptions, 'clock'>; settings?: CallSettingsOverrides } = {},
) {
  const clock = new FakeClock();
  const leg = new RecordingLeg();
  const bot = new DialPlanBot(plan, { logger: silentLogger(), ...opts.bot, clock });
  const audio = new DialPlanAudio();
  const bus = new EventBus();
  const published: { type: keyof BusEventMap; event: unknown }[] = [];
  for (const type of ['transcript', 'prompt.played'] as const) bus.subscribe(type, (event) => void published.push({ type, event }));
  const session = new CallSession({
    info: { ...testCallInfo, direction: 'outbound' },
    leg,
    bot,
    audio,
    settings: mergeSettings(DEFAULT_CALL_SETTINGS, opts.settings),
    bus,
    clock,
    logger: silentLogger(),
    ttsProvider: 'tone',
  });
  await session.start();
  await settle();
  /** What the caller heard in full, in order (prompt text, or the playUrl label). */
  const heard = () =>
    published
      .filter((p) => p.type === 'prompt.played')
      .map((p) => p.event as BusEventMap['prompt.played'])
      .filter((p) => p.heardInFull)
      .map((p) => p.text);
  /** Every prompt queued for the caller, in order (heard or not). */
  const queued = () =>
    published
      .filter((p) => p.type === 'transcript')
      .map((p) => p.event as BusEventMap['transcript'])
      .filter((t) => t.who === 'bot')
      .map((t) => t.text);
  /** The caller hears the prompt playing now to its end. */
  const hearOne = async () => {
    leg.playedOne();
    await settle();
  };
  const hearAll = async () => {
    leg.playedAll();
    await settle();
  };
  const press = async (...digits: string[]) => {
    for (const d of digits) {
      leg.emit('dtmf', d);
      await settle();
    }
  };
  const wait = async (ms: number) => {
    clock.advance(ms);
    await settle();
  };
  const hangupReason = () => leg.commands.find((c) => c.kind === 'hangup')?.reason;
  return { clock, leg, bot, audio, session, heard, queued, hearOne, hearAll, press, wait, hangupReason };
}

import { CallSession } from '../../src/call/call-session.js';
import { DEFAULT_CALL_SETTINGS, mergeSettings, type CallSettingsOverrides } from '../../src/call/settings.js';
import { EventBus, type BusEventMap } from '../../src/events/bus.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { Activity } from '../../src/bots/activity.js';
import type { SttProvider } from '../../src/speech/stt/provider.js';
import type { PromptAudioSource } from '../../src/call/prompt-audio.js';
import type { CallInfo } from '../../src/carriers/leg.js';
import { FakeClock } from './fake-clock.js';
import { RecordingLeg, ScriptedBot, ToneAudioSource, settle, testCallInfo } from './call-doubles.js';

/** A CallSession wired to doubles and a fake clock, with the bus events it published. */
export async function startSession(
  opts: {
    settings?: CallSettingsOverrides;
    greeting?: Partial<Activity>[];
    durationsMs?: Record<string, number>;
    botWantsPromptInterruptions?: boolean;
    stt?: SttProvider;
    /** Replaces the tone source (failing or slow TTS). */
    audio?: PromptAudioSource;
    recordingsDir?: string;
    info?: CallInfo;
    /** Replaces the default leg (capabilities off, another carrier, no clear confirmation). */
    leg?: RecordingLeg;
    logger?: Logger;
    /** The session's clock, when the test built parts (a prompt audio source) that share it. */
    clock?: FakeClock;
  } = {},
) {
  const clock = opts.clock ?? new FakeClock();
  const leg = opts.leg ?? new RecordingLeg();
  const bot = new ScriptedBot(opts.greeting ?? []);
  bot.wantsPromptInterruptions = opts.botWantsPromptInterruptions ?? false;
  const tones = new ToneAudioSource(opts.durationsMs);
  const audio = opts.audio ?? tones;
  const bus = new EventBus();
  const published: { type: keyof BusEventMap; event: unknown }[] = [];
  for (const type of ['transcript', 'dtmf', 'prompt.played', 'turn', 'recording.saved', 'provider.error'] as const) bus.subscribe(type, (event) => void published.push({ type, event }));
  const session = new CallSession({
    info: opts.info ?? testCallInfo,
    leg,
    bot,
    audio,
    settings: mergeSettings(DEFAULT_CALL_SETTINGS, opts.settings),
    bus,
    clock,
    logger: opts.logger ?? silentLogger(),
    stt: opts.stt,
    recordingsDir: opts.recordingsDir,
    ttsProvider: 'tone',
  });
  await session.start();
  await settle();
  const prompts = () => published.filter((p) => p.type === 'prompt.played').map((p) => p.event as BusEventMap['prompt.played']);
  const turns = () => published.filter((p) => p.type === 'turn').map((p) => p.event as BusEventMap['turn']);
  const recordings = () => published.filter((p) => p.type === 'recording.saved').map((p) => p.event as BusEventMap['recording.saved']);
  const transcript = () => published.filter((p) => p.type === 'transcript').map((p) => p.event as BusEventMap['transcript']);
  const providerErrors = () => published.filter((p) => p.type === 'provider.error').map((p) => p.event as BusEventMap['provider.error']);
  return { clock, leg, bot, audio: tones, bus, session, published, prompts, turns, recordings, transcript, providerErrors };
}

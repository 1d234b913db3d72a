import { CallSession } from '../../src/call/call-session.js';
import { DEFAULT_CALL_SETTINGS, mergeSettings, type CallSettingsOverrides } from '../../src/call/settings.js';
import { EventBus, type BusEventMap } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import type { Activity } from '../../src/bots/activity.js';
import type { SttProvider } from '../../src/speech/stt/provider.js';
import { FakeClock } from './fake-clock.js';
import { RecordingLeg, ScriptedBot, ToneAudioSource, settle, testCallInfo } from './call-doubles.js';

/** A CallSession wired to doubles and a fake clock, with the bus events it published. */
export async function startSession(
  opts: { settings?: CallSettingsOverrides; greeting?: Partial<Activity>[]; durationsMs?: Record<string, number>; botWantsPromptInterruptions?: boolean; stt?: SttProvider } = {},
) {
  const clock = new FakeClock();
  const leg = new RecordingLeg();
  const bot = new ScriptedBot(opts.greeting ?? []);
  bot.wantsPromptInterruptions = opts.botWantsPromptInterruptions ?? false;
  const audio = new ToneAudioSource(opts.durationsMs);
  const bus = new EventBus();
  const published: { type: keyof BusEventMap; event: unknown }[] = [];
  for (const type of ['transcript', 'dtmf', 'prompt.played'] as const) bus.subscribe(type, (event) => void published.push({ type, event }));
  const session = new CallSession({
    info: testCallInfo,
    leg,
    bot,
    audio,
    settings: mergeSettings(DEFAULT_CALL_SETTINGS, opts.settings),
    bus,
    clock,
    logger: silentLogger(),
    stt: opts.stt,
  });
  await session.start();
  await settle();
  const prompts = () => published.filter((p) => p.type === 'prompt.played').map((p) => p.event as BusEventMap['prompt.played']);
  return { clock, leg, bot, audio, bus, session, published, prompts };
}

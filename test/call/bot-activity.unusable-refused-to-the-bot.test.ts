import { expect, it } from 'vitest';
import { RecordingLeg, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { LOG_WARN, captureLogger } from '../support/captured-logger.js';

it('an activity the bot sent well-formed but unusable (playUrl without a URL) is refused to the bot by id, and the rest of its answer still plays', async () => {
  const { logger, lines } = captureLogger();
  const { leg, bot, audio, session } = await startSession({ leg: new RecordingLeg('call-1', 8000), logger, greeting: [{ text: 'Hello.' }] });
  leg.playedAll();
  await settle();

  bot.say({ id: 'play-1', type: 'event', name: 'playUrl', activityParams: {} }, { text: 'Anything else?' });
  await settle();

  expect(bot.events('commandFailed').map((a) => a.value)).toEqual([
    { command: 'invalidActivity', type: 'playUrl', activityId: 'play-1', reason: 'playUrl activity without activityParams.playUrlUrl' },
  ]);
  expect(lines.filter((l) => l.level === LOG_WARN)).toMatchObject([{ msg: 'bot activity refused; skipped', activityId: 'play-1', reason: 'playUrl activity without activityParams.playUrlUrl' }]);
  expect(audio.spoken.map((r) => r.text)).toEqual(['Hello.', 'Anything else?']);
  expect(session.endedWith).toBeUndefined();
});

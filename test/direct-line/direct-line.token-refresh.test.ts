import { afterEach, describe, expect, it } from 'vitest';
import { messageActivity } from '../../src/bots/activity.js';
import { DirectLineError } from '../../src/bots/direct-line/index.js';
import { ObservedClock } from '../support/bot-api-clock.js';
import { callInfo, DirectLineFixture } from './direct-line-fixture.js';

const fx = new DirectLineFixture();
afterEach(() => fx.cleanup());

describe('Direct Line token refresh', () => {
  it('refreshes the conversation token before it expires, for a call longer than the token lifetime', async () => {
    const clock = new ObservedClock();
    const server = await fx.startServer({ expiresIn: 60, now: () => clock.now() });
    const { bot, emitted } = fx.connector({ clock });
    const firstRefreshArmed = clock.nextTimer((ms) => ms === 40_000);
    await bot.start(callInfo);
    await emitted.activity((a) => a.type === 'message');
    await firstRefreshArmed;
    const firstToken = server.requests.find((r) => r.kind === 'post-activity')!.authorization;

    for (let round = 1; round <= 3; round++) {
      const refreshed = server.waitForRequest((r) => r.kind === 'refresh', round);
      const rearmed = clock.nextTimer((ms) => ms === 40_000);
      clock.advance(40_000);
      expect((await refreshed).authorization).toMatch(/^Bearer tok_/);
      await rearmed;
    }
    // 120 s into the call: the first token expired long ago, the conversation still works.
    expect(clock.now()).toBeGreaterThan(1_700_000_000_000 + 60_000);
    await bot.send(messageActivity('still here'));
    await emitted.activity((a) => a.text === 'You said: still here');
    const lastSend = server.requests.filter((r) => r.kind === 'post-activity').at(-1)!;
    expect(lastSend.authorization).not.toBe(firstToken);
    expect(server.requests.filter((r) => r.kind === 'refresh').every((r) => r.authorization !== 'Bearer dl-secret')).toBe(true);
    expect(emitted.failures).toEqual([]);
  });

  it('reports a refresh rejected because the token already expired as a failure naming TokenExpired', async () => {
    const clock = new ObservedClock();
    const server = await fx.startServer({ expiresIn: 60, now: () => clock.now() });
    const { bot, emitted } = fx.connector({ clock });
    await bot.start(callInfo);
    await emitted.activity((a) => a.type === 'message');
    server.fault('refresh', { status: 403, code: 'TokenExpired', message: 'Token expired' });
    clock.advance(40_000);
    const err = (await emitted.failure()) as DirectLineError;
    expect(err).toBeInstanceOf(DirectLineError);
    expect(err.kind).toBe('token-expired');
    expect(err.message).toBe('Direct Line refresh token (POST /v3/directline/tokens/refresh) answered 403: TokenExpired - Token expired (the conversation token expired before it was refreshed)');
  });
});

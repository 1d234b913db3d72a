import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import { BotApiServer } from '../support/bot-api-server.js';
import { ObservedClock } from '../support/bot-api-clock.js';

const info = { conversationId: 'call-refresh-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const isRefresh = (r: { kind: string }) => r.kind === 'refresh';

describe('bot-api refresh', () => {
  it('refreshes before expiry for the whole call, following each new expiresSeconds', async () => {
    // create grants 60 s, then the bot alternates its grants.
    const grants = [60, 30, 90, 30, 45, 60, 60, 60, 60, 60, 60, 60];
    server = await BotApiServer.start({ expiresSeconds: grants });
    const clock = new ObservedClock();
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, clock });
    const firstRefresh = clock.nextTimer((ms) => ms === 40_000);
    const greeted = once(bot, 'activities');
    await bot.start(info);
    await greeted;
    await firstRefresh;

    let elapsed = 0;
    for (let n = 1; n < grants.length; n++) {
      const dueIn = Math.round((grants[n - 1] * 1000 * 2) / 3);
      const nextDue = Math.round((grants[n] * 1000 * 2) / 3);
      // One millisecond early nothing is sent...
      clock.advance(dueIn - 1);
      expect(server.count('refresh')).toBe(n - 1);
      // ...and on time the refresh goes out; its answer sets the next deadline.
      const rescheduled = clock.nextTimer((ms) => ms === nextDue);
      clock.advance(1);
      elapsed += dueIn;
      const refresh = await server.waitForRequest(isRefresh, n);
      expect(refresh.body).toEqual({ conversation: 'call-refresh-1' });
      await rescheduled;
      // Always sent before the previous grant ran out.
      expect(dueIn).toBeLessThan(grants[n - 1] * 1000);
    }
    expect(elapsed).toBeGreaterThan(6 * 60_000); // a long call, kept alive throughout
    expect(server.count('refresh')).toBe(grants.length - 1);

    await bot.end('client-disconnected');
    clock.advance(10 * 60_000);
    expect(server.count('refresh')).toBe(grants.length - 1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('retries a failed refresh before the grant runs out, then carries on', async () => {
    server = await BotApiServer.start({ expiresSeconds: [60, 60] });
    const clock = new ObservedClock();
    // requestTimeoutMs differs from the 5 s retry delay so the two timers can be told apart.
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, clock, retries: 0, requestTimeoutMs: 3000 });
    await bot.start(info);
    server.fault('refresh', { status: 503 });
    const retry = clock.nextTimer((ms) => ms === 5000);
    clock.advance(40_000);
    await server.waitForRequest(isRefresh, 1);
    await retry; // 20 s were left: try again in 5 s
    const next = clock.nextTimer((ms) => ms === 40_000);
    clock.advance(5000);
    await server.waitForRequest(isRefresh, 2);
    await next; // the second attempt succeeded and the normal rhythm resumes
    await bot.end('client-disconnected');
  });

  it('reports failure when the bot no longer knows the conversation at refresh time', async () => {
    server = await BotApiServer.start({ expiresSeconds: [60] });
    const clock = new ObservedClock();
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, clock });
    await bot.start(info);
    server.forget('call-refresh-1');
    const failure = once(bot, 'failure') as Promise<[Error]>;
    clock.advance(40_000);
    const [err] = await failure;
    expect(err.message).toMatch(/refresh answered 404/);
    await bot.end('error');
  });
});

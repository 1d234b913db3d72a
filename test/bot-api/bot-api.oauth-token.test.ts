import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector, OAuthTokenCache, validateBotApi } from '../../src/bots/bot-api/index.js';
import { messageActivity, type Activity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';
import { FakeClock } from '../support/fake-clock.js';

const call = (id: string) => ({ conversationId: id, direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' });
const client = { clientId: 'voxgate', clientSecret: 's3cret/+:x' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function oauthServer(expiresIn = 300): Promise<BotApiServer> {
  // A long conversation grant keeps refreshes out of the way of the token clock.
  server = await BotApiServer.start({ oauth: { ...client, expiresIn }, expiresSeconds: [86_400] });
  return server;
}

describe('bot-api OAuth client credentials', () => {
  it('fetches one token for all connectors of a bot and renews it before expires_in runs out', async () => {
    const s = await oauthServer(300);
    const clock = new FakeClock();
    const tokenCache = new OAuthTokenCache({ clock });
    const oauth = { tokenUrl: s.tokenUrl, ...client, scope: 'bot.converse' };
    const a = new BotApiConnector({ name: 'echo', botUrl: s.botUrl, oauth, tokenCache, clock });
    const b = new BotApiConnector({ name: 'echo', botUrl: s.botUrl, oauth, tokenCache, clock });
    await Promise.all([a.start(call('call-oauth-a')), b.start(call('call-oauth-b'))]);
    await a.send(messageActivity('hi'));
    expect(s.tokensIssued).toBe(1);
    const tokenRequest = await s.waitForRequest((r) => r.kind === 'token');
    expect(tokenRequest.body).toEqual({ grant_type: 'client_credentials', scope: 'bot.converse' });
    expect(tokenRequest.authorization).toMatch(/^Basic /);
    expect(s.requests.filter((r) => r.kind !== 'token').every((r) => r.authorization === 'Bearer token-1')).toBe(true);

    // 4 minutes in, a minute before expiry: still the same token...
    clock.advance(239_000);
    await b.send(messageActivity('still there'));
    expect(s.tokensIssued).toBe(1);
    // ...past the renewal point the next request renews it first.
    clock.advance(2000);
    const answered = once(b, 'activities') as Promise<[Activity[]]>;
    await b.send(messageActivity('and now'));
    expect((await answered)[0][0].text).toBe('You said: and now');
    expect(s.tokensIssued).toBe(2);
    expect(s.requests.at(-1)!.authorization).toBe('Bearer token-2');

    await Promise.all([a.end('client-disconnected'), b.end('client-disconnected')]);
    expect(s.tokensIssued).toBe(2);
  });

  it('sends client credentials in the form body when configured so', async () => {
    const s = await oauthServer();
    const oauth = { tokenUrl: s.tokenUrl, ...client, credentialsIn: 'body' as const };
    await validateBotApi(s.botUrl, { oauth, tokenCache: new OAuthTokenCache() });
    const tokenRequest = await s.waitForRequest((r) => r.kind === 'token');
    expect(tokenRequest.authorization).toBeUndefined();
    expect(tokenRequest.body).toEqual({ grant_type: 'client_credentials', client_id: 'voxgate', client_secret: 's3cret/+:x' });
  });

  it('fetches a fresh token once when the bot rejects a revoked one mid-call', async () => {
    const s = await oauthServer(3600);
    const bot = new BotApiConnector({ name: 'echo', botUrl: s.botUrl, oauth: { tokenUrl: s.tokenUrl, ...client }, tokenCache: new OAuthTokenCache() });
    await bot.start(call('call-oauth-revoked'));
    s.revokeTokens();
    const failures: Error[] = [];
    bot.on('failure', (e) => failures.push(e));
    const answered = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.send(messageActivity('after rotation'));
    expect((await answered)[0][0].text).toBe('You said: after rotation');
    expect(failures).toEqual([]);
    expect(s.tokensIssued).toBe(2);
    await bot.end('client-disconnected');
  });

  it('wrong client credentials make start() fail naming the token endpoint', async () => {
    const s = await oauthServer();
    const bot = new BotApiConnector({
      name: 'echo',
      botUrl: s.botUrl,
      oauth: { tokenUrl: s.tokenUrl, clientId: 'voxgate', clientSecret: 'wrong' },
      tokenCache: new OAuthTokenCache(),
    });
    await expect(bot.start(call('call-oauth-bad'))).rejects.toThrow(
      `OAuth token endpoint ${s.tokenUrl} answered 401: {"error":"invalid_client"} (check clientId/clientSecret/scope)`,
    );
    expect(s.count('create')).toBe(0);
  });
});

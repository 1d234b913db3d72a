import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BotApiServer } from '../support/bot-api-server.js';
import { SIP_NUMBER, startSipE2e, type SipE2eSetup } from '../support/e2e-sip.js';
import { SipTestClient } from '../support/sip-test-client.js';
import { placeCall } from '../sip/uas/uas-gateway.js';

describe('what only SIP carries: INVITE headers to the bot, the bot metadata back as SIP INFO', () => {
  let bot: BotApiServer;
  let e2e: SipE2eSetup;
  let phone: SipTestClient | undefined;
  beforeAll(async () => {
    bot = await BotApiServer.start({ token: 'bot-token', greeting: 'Hello.', afterGreeting: [{ type: 'event', name: 'sendMetaData', value: { intent: 'billing', score: 0.9 } }] });
    e2e = await startSipE2e(
      { bots: [{ name: 'assistant', type: 'bot-api', botApi: { url: bot.botUrl, token: 'bot-token' } }], routes: [{ number: SIP_NUMBER, bot: 'assistant' }] },
      { headersToBot: ['X-*', 'P-Asserted-Identity'], rtp: { timeoutSec: 0 } },
    );
  });
  afterEach(async () => {
    await phone?.close();
    phone = undefined;
  });
  afterAll(async () => {
    await e2e?.close();
    await bot?.close();
  });

  it('routes by the Request-URI user, hands the configured INVITE headers to the bot start, and sends the bot metadata to the peer as INFO', async () => {
    phone = await SipTestClient.udp({ address: '127.0.0.1', port: e2e.sipPort });
    phone.autoRespond('BYE', 200);
    const info = phone.waitForRequest('INFO', { timeoutMs: 10_000 });
    const call = await placeCall(phone, {
      to: SIP_NUMBER,
      headers: [
        ['X-Customer-Id', '42'],
        ['X-Queue', 'billing'],
        ['P-Asserted-Identity', '<sip:+14155550123@carrier.example.com>'],
        ['User-Agent', 'not-for-the-bot'],
      ],
    });
    // The bot's metadata, as SIP INFO in the dialog, JSON body.
    const metadata = await info;
    expect(metadata.message.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(metadata.message.body.toString('utf8'))).toEqual({ intent: 'billing', score: 0.9 });
    expect(metadata.message.headers.get('call-id')).toBe(call.ok.headers.get('call-id'));
    phone.respond(metadata, 200);

    const start = bot.requests
      .filter((r) => r.kind === 'activities')
      .flatMap((r) => (r.body.activities as { name?: string; parameters?: Record<string, unknown> }[]) ?? [])
      .find((a) => a.name === 'start');
    expect(start?.parameters).toMatchObject({ 'X-Customer-Id': '42', 'X-Queue': 'billing', 'P-Asserted-Identity': '<sip:+14155550123@carrier.example.com>' });
    expect(start?.parameters).not.toHaveProperty('User-Agent');
    expect(start?.parameters).toMatchObject({ callee: SIP_NUMBER });
  });
});

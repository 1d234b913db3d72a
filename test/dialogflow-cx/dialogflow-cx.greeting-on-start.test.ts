import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DialogflowCxConnector, dialogflowCxBaseUrl, dialogflowCxConfigSchema, dialogflowCxOptionsFromConfig, dialogflowCxSessionId } from '../../src/bots/dialogflow-cx/index.js';
import { cxText } from '../support/dialogflow-cx-server.js';
import { serviceAccountKeyFile } from '../support/google-oauth-server.js';
import { AGENT, CALL, CxFixture } from './cx-fixture.js';

describe('Dialogflow CX: the call starts with the start event and the agent greets the caller', () => {
  let f: CxFixture;
  afterEach(() => f.close());

  it('sends the welcome event with the caller and callee, authorized by a service-account token, and plays the greeting', async () => {
    f = await new CxFixture().start();
    f.cx.reply({ responseMessages: [cxText('Hello, this is Voxgate support. How can I help?')] });
    await f.connector.start({ ...CALL, parameters: { 'X-Account.Id': 'A-42' } });

    const [batch] = await f.batchesReceived(1);
    expect(batch).toEqual([expect.objectContaining({ type: 'message', text: 'Hello, this is Voxgate support. How can I help?' })]);

    const [query] = f.cx.requests;
    expect(query).toMatchObject({ ...AGENT, sessionId: CALL.conversationId });
    expect(query.body.queryInput).toEqual({ event: { event: 'welcome' }, languageCode: 'en' });
    expect(query.body.queryParams?.parameters).toMatchObject({ caller: '+14155550100', callee: '+442071234567', direction: 'inbound', callerDisplayName: 'Ada' });
    expect(query.body.queryParams?.payload).toMatchObject({ caller: '+14155550100', callee: '+442071234567', vaigConversationId: CALL.conversationId });
    // SIP headers: parameter ids made CX-safe, the original names kept in the payload for webhooks
    expect(query.body.queryParams?.parameters).toMatchObject({ 'X-Account_Id': 'A-42' });
    expect(query.body.queryParams?.payload).toMatchObject({ parameters: { 'X-Account.Id': 'A-42' } });
    expect(f.google.requests).toHaveLength(1);
    expect(query.authorization).toMatch(/^Bearer ya29\./);
  });

  it('uses the configured start event, language and environment', async () => {
    f = await new CxFixture('production').start({ startEvent: 'call_started', languageCode: 'de', environment: 'production' });
    f.cx.reply({ responseMessages: [cxText('Guten Tag!')] });
    await f.connector.start(CALL);
    expect((await f.batchesReceived(1))[0][0].text).toBe('Guten Tag!');
    expect(f.cx.requests[0]).toMatchObject({ environment: 'production' });
    expect(f.cx.requests[0].body.queryInput).toEqual({ event: { event: 'call_started' }, languageCode: 'de' });
  });

  it('emits nothing and reports no failure when the agent has nothing to say at start', async () => {
    f = await new CxFixture().start();
    await f.connector.start(CALL);
    await f.cx.waitForRequests(1);
    expect(f.batches).toHaveLength(0);
    expect(f.failures).toHaveLength(0);
  });

  it('keeps call ids that fit the 36-character session id, and hashes longer ones', () => {
    expect(dialogflowCxSessionId('abc-123_X')).toBe('abc-123_X');
    const long = dialogflowCxSessionId('CA0123456789abcdef0123456789abcdef-with-suffix');
    expect(long).toMatch(/^[0-9a-f]{36}$/);
    expect(dialogflowCxSessionId('CA0123456789abcdef0123456789abcdef-with-suffix')).toBe(long);
  });

  it('talks to the regional endpoint of the agent\'s location', () => {
    expect(dialogflowCxBaseUrl('global')).toBe('https://dialogflow.googleapis.com');
    expect(dialogflowCxBaseUrl('europe-west2')).toBe('https://europe-west2-dialogflow.googleapis.com');
  });

  it('wires from a config section with a key file: one shared token for the bot\'s calls', async () => {
    f = new CxFixture();
    await f.start();
    const dir = mkdtempSync(join(tmpdir(), 'voxgate-cx-'));
    try {
      const keyFile = join(dir, 'sa.json');
      writeFileSync(keyFile, serviceAccountKeyFile(f.account));
      const config = dialogflowCxConfigSchema.parse({ ...AGENT, credentials: { keyFile }, baseUrl: f.cx.url, tokenUrl: f.google.tokenUrl });
      const options = dialogflowCxOptionsFromConfig('support-agent', config, {}, undefined, { clock: f.clock });
      f.cx.agent = () => ({ responseMessages: [cxText('Hi from config')] });
      const calls = [new DialogflowCxConnector(options), new DialogflowCxConnector(options)];
      const greetings = calls.map((c) => new Promise<string | undefined>((resolve) => c.once('activities', (a) => resolve(a[0].text))));
      await Promise.all(calls.map((c, i) => c.start({ ...CALL, conversationId: `call-${i}` })));
      expect(await Promise.all(greetings)).toEqual(['Hi from config', 'Hi from config']);
      expect(f.google.requests).toHaveLength(1);
      await Promise.all(calls.map((c) => c.end('client-disconnected')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

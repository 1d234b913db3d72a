import { afterEach, describe, expect, it } from 'vitest';
import { messageActivity } from '../../src/bots/activity.js';
import { DialogflowCxError } from '../../src/bots/dialogflow-cx/index.js';
import { cxText } from '../support/dialogflow-cx-server.js';
import { AGENT, CALL, CxFixture } from './cx-fixture.js';

describe('Dialogflow CX: failures become one clear failure event naming Dialogflow CX and the status', () => {
  let f: CxFixture;
  afterEach(() => f.close());

  /** A call whose greeting went through, so the failure happens mid-call. */
  const inCall = async () => {
    f = await new CxFixture().start();
    f.cx.reply({ responseMessages: [cxText('Welcome!')] });
    await f.connector.start(CALL);
    await f.batchesReceived(1);
  };

  it('retries once with a fresh token when CX answers 401, then reports UNAUTHENTICATED', async () => {
    f = await new CxFixture().start();
    f.cx.reply(
      { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } },
      { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } },
    );
    await f.connector.start(CALL);
    const err = await f.failure();
    expect(err).toBeInstanceOf(DialogflowCxError);
    expect(err.message).toMatch(/^Dialogflow CX detectIntent \(event welcome\) for agent projects\/voxgate-project\/locations\/europe-west2\/agents\/.* answered 401: UNAUTHENTICATED - Request had invalid/);
    expect(f.google.requests).toHaveLength(2); // the refused token was dropped and a new one fetched
    expect(f.cx.requests).toHaveLength(2);
    expect(f.batches).toHaveLength(0);
  });

  it('recovers when the retried query with a fresh token is accepted', async () => {
    f = await new CxFixture().start();
    f.cx.reply({ error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } }, { responseMessages: [cxText('Hello again')] });
    await f.connector.start(CALL);
    expect((await f.batchesReceived(1))[0][0].text).toBe('Hello again');
    expect(f.failures).toHaveLength(0);
  });

  it('reports 403 PERMISSION_DENIED with a hint about the service account\'s role', async () => {
    f = await new CxFixture().start();
    f.cx.reply({ error: { code: 403, status: 'PERMISSION_DENIED', message: `Permission 'dialogflow.sessions.detectIntent' denied on resource '//dialogflow.googleapis.com/projects/${AGENT.project}/locations/${AGENT.location}/agents/${AGENT.agent}' (or it may not exist).` } });
    await f.connector.start(CALL);
    const err = (await f.failure()) as DialogflowCxError;
    expect(err.message).toMatch(/answered 403: PERMISSION_DENIED - Permission 'dialogflow.sessions.detectIntent' denied/);
    expect(err.message).toMatch(/Dialogflow API Client role/);
    expect(err).toMatchObject({ kind: 'auth', status: 403, rpcStatus: 'PERMISSION_DENIED' });
    expect(f.cx.requests).toHaveLength(1); // 403 is not a stale token: no retry
  });

  it('reports an agent that does not exist (404 NOT_FOUND)', async () => {
    f = await new CxFixture().start({ agent: 'no-such-agent' });
    await f.connector.start(CALL);
    const err = await f.failure();
    expect(err.message).toMatch(/agents\/no-such-agent answered 404: NOT_FOUND - .*Agent 'no-such-agent' does not exist.*check project, location, agent and environment/);
  });

  it('reports a token endpoint refusal (invalid_grant) as the reason no query was sent', async () => {
    f = await new CxFixture().start();
    f.google.removeAccount(f.account.clientEmail);
    await f.connector.start(CALL);
    const err = await f.failure();
    expect(err.message).toMatch(/Dialogflow CX detectIntent \(event welcome\).*: no Google access token: Google OAuth token endpoint .*\/token .* answered 400: invalid_grant: Invalid grant: account not found/);
    expect(f.cx.requests).toHaveLength(0);
  });

  it('gives up on a query at the request deadline', async () => {
    f = await new CxFixture().start({ requestTimeoutMs: 3000 });
    f.cx.reply({ hang: true });
    const started = f.connector.start(CALL); // resolves once the start query is answered or given up
    await f.cx.waitForRequests(1);
    f.clock.advance(2999);
    expect(f.failures).toHaveLength(0);
    f.clock.advance(1);
    const err = (await f.failure()) as DialogflowCxError;
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/Dialogflow CX detectIntent \(event welcome\).*got no answer within 3000 ms/);
    await started;
  });

  it('reports a 200 whose body is not JSON, or not a DetectIntentResponse, without crashing', async () => {
    await inCall();
    f.cx.reply({ raw: '<html><body>Bad gateway</body></html>', contentType: 'text/html' });
    await f.connector.send(messageActivity('hello'));
    expect((await f.failure()).message).toMatch(/Dialogflow CX detectIntent \(text\).* answered 200 with a body that is not JSON.*<html>/);

    await f.close();
    await inCall();
    f.cx.reply({ raw: JSON.stringify({ queryResult: { responseMessages: { text: 'not a list' } } }) });
    await f.connector.send(messageActivity('hello'));
    expect((await f.failure()).message).toMatch(/malformed DetectIntentResponse: "queryResult.responseMessages" must be an array, got object/);
  });

  it('reports a 503 in the middle of the call, and sends nothing more afterwards', async () => {
    await inCall();
    f.cx.reply({ error: { code: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' } });
    await f.connector.send(messageActivity('what are your hours'));
    const err = (await f.failure()) as DialogflowCxError;
    expect(err.message).toMatch(/Dialogflow CX detectIntent \(text\).* answered 503: UNAVAILABLE - The service is currently unavailable/);
    expect(err.kind).toBe('unavailable');
    await f.connector.send(messageActivity('hello?'));
    expect(f.cx.requests).toHaveLength(2);
    expect(f.failures).toHaveLength(1);
  });

  it('reports 429 RESOURCE_EXHAUSTED as a quota problem', async () => {
    await inCall();
    f.cx.reply({ error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: "Quota exceeded for quota metric 'Session requests' and limit 'Session requests per minute'." } });
    await f.connector.send(messageActivity('hi'));
    expect((await f.failure()).message).toMatch(/answered 429: RESOURCE_EXHAUSTED - Quota exceeded.*\(quota exceeded\)/);
  });

  it('reports a connection dropped mid-call by the service', async () => {
    await inCall();
    f.cx.reply({ drop: true });
    await f.connector.send(messageActivity('hello'));
    const err = (await f.failure()) as DialogflowCxError;
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/Dialogflow CX detectIntent \(text\).* failed: /);
  });

  it('end() drops a query still waiting on the agent without a failure, and is safe to call twice', async () => {
    await inCall();
    f.cx.reply({ hang: true });
    const pending = f.connector.send(messageActivity('hello'));
    await f.cx.waitForRequests(2);
    await f.connector.end('client-disconnected');
    await f.connector.end('client-disconnected');
    await pending;
    await f.connector.send(messageActivity('after the end'));
    expect(f.failures).toHaveLength(0);
    expect(f.batches).toHaveLength(1);
    expect(f.cx.requests).toHaveLength(2);
  });
});

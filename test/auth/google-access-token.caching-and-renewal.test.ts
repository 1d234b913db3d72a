import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GoogleAccessTokenSource } from '../../src/auth/google-service-account.js';
import { FakeClock } from '../support/fake-clock.js';
import { GoogleOAuthServer, makeServiceAccount, type TestServiceAccount } from '../support/google-oauth-server.js';

const SCOPE = 'https://www.googleapis.com/auth/dialogflow';

describe('GoogleAccessTokenSource: one token per hour, shared and renewed before expiry', () => {
  let clock: FakeClock;
  let google: GoogleOAuthServer;
  let account: TestServiceAccount;

  beforeEach(async () => {
    clock = new FakeClock();
    google = await new GoogleOAuthServer({ now: () => clock.now() }).start();
    account = makeServiceAccount();
    google.addAccount(account);
  });
  afterEach(() => google.close());

  const source = (scopes = [SCOPE]) =>
    new GoogleAccessTokenSource({
      credentials: { clientEmail: account.clientEmail, privateKey: account.privateKey, privateKeyId: account.privateKeyId },
      scopes,
      tokenUrl: google.tokenUrl,
      clock,
    });

  it('signs an assertion Google accepts: iss, space-joined scope, aud, a one-hour exp and the key id', async () => {
    const token = await source([SCOPE, 'https://www.googleapis.com/auth/cloud-platform']).token();
    expect(google.accepts(token, SCOPE)).toBe(true);
    const [req] = google.requests;
    expect(req).toMatchObject({
      status: 200,
      iss: account.clientEmail,
      scope: `${SCOPE} https://www.googleapis.com/auth/cloud-platform`,
      aud: google.tokenUrl,
      kid: account.privateKeyId,
      iat: Math.floor(clock.now() / 1000),
    });
    expect(req.exp! - req.iat!).toBe(3600);
  });

  it('serves the cached token until shortly before expires_in, then fetches a fresh one', async () => {
    const tokens = source();
    const first = await tokens.token();
    clock.advance(50 * 60_000);
    expect(await tokens.token()).toBe(first);
    expect(google.requests).toHaveLength(1);

    clock.advance(5 * 60_000); // 55 min: inside the renewal margin of a 3599 s token
    const second = await tokens.token();
    expect(second).not.toBe(first);
    expect(google.requests).toHaveLength(2);
    expect(google.accepts(second, SCOPE)).toBe(true);
  });

  it('lets concurrent callers share one token request', async () => {
    const tokens = source();
    google.holdRequests(1);
    const waiting = [tokens.token(), tokens.getAccessToken(), tokens.token()];
    await google.waitForRequests(1);
    google.release();
    const got = await Promise.all(waiting);
    expect(new Set(got).size).toBe(1);
    expect(google.requests).toHaveLength(1);
  });

  it('fetches a new token after invalidate() of the one an API refused', async () => {
    const tokens = source();
    const first = await tokens.token();
    tokens.invalidate('some-other-token');
    expect(await tokens.token()).toBe(first);
    tokens.invalidate(first);
    expect(await tokens.token()).not.toBe(first);
    expect(google.requests).toHaveLength(2);
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GoogleAccessTokenSource, GoogleAuthError } from '../../src/auth/google-service-account.js';
import { FakeClock } from '../support/fake-clock.js';
import { GoogleOAuthServer, makeServiceAccount, type TestServiceAccount } from '../support/google-oauth-server.js';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** The error a token request failed with; a token where a failure was expected fails the test. */
async function failureOf(request: Promise<string>): Promise<GoogleAuthError> {
  const outcome = await request.then(
    (token) => new Error(`expected a failure, got token ${token}`),
    (err: unknown) => err as GoogleAuthError,
  );
  if (!(outcome instanceof GoogleAuthError)) throw outcome;
  return outcome;
}

describe('GoogleAccessTokenSource: failures name the token URL and Google\'s error, and are not cached', () => {
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

  const source = (overrides: Partial<ConstructorParameters<typeof GoogleAccessTokenSource>[0]> = {}) =>
    new GoogleAccessTokenSource({
      credentials: { clientEmail: account.clientEmail, privateKey: account.privateKey, privateKeyId: account.privateKeyId },
      scopes: [SCOPE],
      tokenUrl: google.tokenUrl,
      clock,
      requestTimeoutMs: 2000,
      ...overrides,
    });

  it('reports invalid_grant with its description, and tries again on the next call', async () => {
    google.removeAccount(account.clientEmail);
    const tokens = source();
    const err = await failureOf(tokens.token());
    expect(err).toBeInstanceOf(GoogleAuthError);
    expect(err.message).toContain(google.tokenUrl);
    expect(err.message).toContain(account.clientEmail);
    expect(err.message).toContain('400: invalid_grant: Invalid grant: account not found');
    expect(err).toMatchObject({ status: 400, code: 'invalid_grant' });

    google.addAccount(account); // the key is fixed: the failure was not remembered
    expect(google.accepts(await tokens.token(), SCOPE)).toBe(true);
  });

  it('reports a key Google does not know (wrong private key) as an invalid JWT signature', async () => {
    const other = makeServiceAccount(account.clientEmail);
    const err = await failureOf(source({ credentials: { clientEmail: account.clientEmail, privateKey: other.privateKey } }).token());
    expect(err.message).toContain('invalid_grant: Invalid JWT Signature.');
  });

  it('rejects an assertion signed with a clock far ahead of Google\'s', async () => {
    const early = new FakeClock(clock.now() + 2 * 3600_000);
    const err = await failureOf(source({ clock: early }).token());
    expect(err.message).toContain('Token must be a short-lived token (60 minutes) and in a reasonable timeframe');
    expect(err.message).toContain('machine clock');
  });

  it('reports a 401 unauthorized_client answer', async () => {
    google.failNext(401, { error: 'unauthorized_client', error_description: 'Client is unauthorized to retrieve access tokens using this method.' });
    const err = await failureOf(source().token());
    expect(err.message).toMatch(/answered 401: unauthorized_client: Client is unauthorized/);
    expect(err.status).toBe(401);
  });

  it('reports a 200 whose body is not JSON, or has no access_token', async () => {
    google.failNext(200, '<html>captive portal</html>');
    expect((await failureOf(source().token())).message).toMatch(/answered 200 with a body that is not JSON/);
    google.failNext(200, { token_type: 'Bearer', expires_in: 3599 });
    expect((await failureOf(source().token())).message).toMatch(/without a string "access_token"/);
  });

  it('gives up at the deadline when the token endpoint does not answer', async () => {
    google.holdRequests(1);
    const pending = failureOf(source().token());
    await google.waitForRequests(1);
    clock.advance(2000);
    const err = await pending;
    expect(err.message).toContain(`${google.tokenUrl}`);
    expect(err.message).toContain('gave no token within 2000 ms');
    google.release();
  });

  it('names the token URL when nothing listens there', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/token`;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await failureOf(source({ tokenUrl: url }).token());
    expect(err.message).toContain(url);
    expect(err.message).toMatch(/could not be reached: ECONNREFUSED/);
  });

  it('says the private key is not a PEM key instead of sending anything', async () => {
    const err = await failureOf(source({ credentials: { clientEmail: account.clientEmail, privateKey: 'not a key' } }).token());
    expect(err.message).toMatch(/private_key is not a PKCS#8 PEM RSA key/);
    expect(google.requests).toHaveLength(0);
  });
});

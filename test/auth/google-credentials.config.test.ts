import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { googleCredentialsSchema, resolveGoogleCredentials } from '../../src/auth/google-service-account.js';
import { makeServiceAccount, serviceAccountKeyFile } from '../support/google-oauth-server.js';

const account = makeServiceAccount();
const dir = mkdtempSync(join(tmpdir(), 'voxgate-google-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('googleCredentialsSchema: a key file, the key JSON in a secret, or inline fields', () => {
  it('reads a downloaded service-account key file', () => {
    const keyFile = join(dir, 'key.json');
    writeFileSync(keyFile, serviceAccountKeyFile(account));
    const key = resolveGoogleCredentials(googleCredentialsSchema.parse({ keyFile }), 'bots.cx.dialogflowCx.credentials', {});
    expect(key).toEqual({ clientEmail: account.clientEmail, privateKey: account.privateKey, privateKeyId: account.privateKeyId, tokenUri: 'https://oauth2.googleapis.com/token' });
  });

  it('reads the key JSON from an environment variable', () => {
    const config = googleCredentialsSchema.parse({ json: { env: 'GOOGLE_SA_JSON' } });
    const key = resolveGoogleCredentials(config, 'creds', { GOOGLE_SA_JSON: serviceAccountKeyFile(account) });
    expect(key.clientEmail).toBe(account.clientEmail);
  });

  it('takes inline fields, turning literal \\n in an env-held private key into line breaks', () => {
    const config = googleCredentialsSchema.parse({ client_email: account.clientEmail, private_key: { env: 'PK' }, private_key_id: 'abc' });
    const key = resolveGoogleCredentials(config, 'creds', { PK: account.privateKey.replace(/\n/g, '\\n') });
    expect(key.privateKey).toBe(account.privateKey);
    expect(key.privateKeyId).toBe('abc');
  });

  it('names the config key and the file when the key file is missing or not a service-account key', () => {
    expect(() => resolveGoogleCredentials({ keyFile: join(dir, 'nope.json') }, 'bots.cx.dialogflowCx.credentials', {})).toThrow(
      /bots\.cx\.dialogflowCx\.credentials\.keyFile: cannot read Google service-account key file .*nope\.json/,
    );
    const userCreds = join(dir, 'adc.json');
    writeFileSync(userCreds, JSON.stringify({ type: 'authorized_user', client_id: 'x', refresh_token: 'y' }));
    expect(() => resolveGoogleCredentials({ keyFile: userCreds }, 'creds', {})).toThrow(/"type" is "authorized_user", expected "service_account"/);
    expect(() => resolveGoogleCredentials({ json: 'not json' }, 'creds', {})).toThrow(/creds\.json: not a Google service-account key: not JSON/);
  });

  it('rejects a mix of forms and unknown fields', () => {
    expect(googleCredentialsSchema.safeParse({ keyFile: 'a.json', client_email: 'a@b.c' }).success).toBe(false);
    expect(googleCredentialsSchema.safeParse({ client_email: 'not-an-email', private_key: 'k' }).success).toBe(false);
  });
});

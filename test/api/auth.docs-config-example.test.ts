import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { apiOAuthConfigSchema } from '../../src/api/auth/api-auth.js';
import { secretSchema } from '../../src/runtime/secrets.js';
import { authLimitsConfigSchema } from '../../src/api/auth/auth-throttle.js';

describe('the api.oauth configuration examples in the docs', () => {
  for (const file of ['docs/api-auth.md']) {
    it(`${file}: the YAML example validates against apiOAuthConfigSchema`, () => {
      const yaml = /```yaml\n([\s\S]*?)```/.exec(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'))?.[1];
      const doc = parse(yaml ?? '') as { api: { token: unknown; oauth: unknown } };
      expect(secretSchema.safeParse(doc.api.token).success).toBe(true);
      expect(apiOAuthConfigSchema.parse(doc.api.oauth)).toMatchObject({ signingKey: { env: 'VOXGATE_OAUTH_SIGNING_KEY' }, tokenTtlSeconds: 3600, issuer: 'voxgate' });
    });
  }

  it('an empty section gets the defaults: 1 h tokens, issuer voxgate, key from the store', () => {
    expect(apiOAuthConfigSchema.parse({})).toEqual({ tokenTtlSeconds: 3600, issuer: 'voxgate' });
    expect(apiOAuthConfigSchema.safeParse({ tokenTtl: 5 }).success).toBe(false);
  });
});

describe('the api.authLimits example in the README', () => {
  it('validates against authLimitsConfigSchema and shows the defaults', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n(api:\n {2}authLimits:[\s\S]*?)```/.exec(readme)?.[1];
    const doc = parse(yaml ?? '') as { api: { authLimits: unknown } };
    expect(authLimitsConfigSchema.parse(doc.api.authLimits)).toEqual(authLimitsConfigSchema.parse({}));
    expect(authLimitsConfigSchema.safeParse({ source: { maxFailure: 3 } }).success).toBe(false);
  });
});

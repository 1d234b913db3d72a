import { expect, it } from 'vitest';
import { ZodError } from 'zod';
import { WidgetKeyRepository, WidgetKeyRevokedError, parseWidgetCredential } from '../../src/store/widget-key-repository.js';
import { FakeClock } from '../support/fake-clock.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('widget key repository', (ctx) => {
  const clock = new FakeClock();
  const repo = () => new WidgetKeyRepository(ctx.store.db, clock);
  const input = { name: 'Shop site', bot: 'flow', origins: ['https://shop.example', 'http://localhost:5173'], maxConcurrentCalls: 3, callsPerMinute: 10 };

  it('creates a key whose credential is shown once and verifies; only a SHA-256 of the secret is stored', async () => {
    const created = await repo().create(input);
    expect(created.secret).toMatch(/^vxw_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(created.key).toEqual({ id: parseWidgetCredential(created.secret)!.keyId, ...input, createdAt: clock.now(), updatedAt: clock.now(), revokedAt: null, lastUsedAt: null });
    expect(await repo().verify(created.secret)).toEqual(created.key);

    const row = await ctx.store.db.selectFrom('widget_keys').selectAll().where('id', '=', created.key.id).executeTakeFirstOrThrow();
    expect(row.secret_hash).toMatch(/^sha256\$/);
    expect(JSON.stringify(row)).not.toContain(parseWidgetCredential(created.secret)!.secret);
    expect(JSON.stringify(await repo().list())).not.toContain('sha256$');
  });

  it('verify refuses a wrong secret, an unknown id and malformed credentials', async () => {
    const { secret, key } = await repo().create(input);
    const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expect(await repo().verify(wrong)).toBeUndefined();
    expect(await repo().verify(secret.replace(key.id, 'AAAAAAAAAAAAAAAA'))).toBeUndefined();
    for (const bad of ['', 'vxw_', 'vxw_abc', `${secret}.extra`, secret.replace('vxw_', 'vgc_')]) expect(await repo().verify(bad)).toBeUndefined();
  });

  it('lists keys oldest first; update changes name, bot, origins, limits and keeps the secret', async () => {
    const first = await repo().create({ ...input, name: 'first' });
    clock.advance(1000);
    const second = await repo().create({ ...input, name: 'second' });
    const names = (await repo().list()).map((k) => k.name);
    expect(names.indexOf('first')).toBeLessThan(names.indexOf('second'));

    clock.advance(1000);
    const updated = await repo().update(first.key.id, { origins: ['https://new.example'], maxConcurrentCalls: 1, bot: 'other' });
    expect(updated).toMatchObject({ name: 'first', bot: 'other', origins: ['https://new.example'], maxConcurrentCalls: 1, callsPerMinute: 10, updatedAt: clock.now() });
    expect(await repo().verify(first.secret)).toEqual(updated);
    expect(await repo().update('no-such-key-id', { name: 'x' })).toBeUndefined();
    expect((await repo().get(second.key.id))?.origins).toEqual(input.origins);
  });

  it('revoke keeps the first revocation time, tells listeners, and a revoked key cannot be edited', async () => {
    const r = repo();
    const changed: string[] = [];
    r.onChange((id) => changed.push(id));
    const { key, secret } = await r.create(input);
    const revokedAt = clock.now();
    expect((await r.revoke(key.id))?.revokedAt).toBe(revokedAt);
    clock.advance(5000);
    expect((await r.revoke(key.id))?.revokedAt).toBe(revokedAt);
    expect(changed).toEqual([key.id, key.id]);
    // Verification still finds it: the access checks say "revoked" rather than "unknown".
    expect((await r.verify(secret))?.revokedAt).toBe(revokedAt);
    await expect(r.update(key.id, { name: 'back' })).rejects.toBeInstanceOf(WidgetKeyRevokedError);
    expect(await r.revoke('no-such-key-id')).toBeUndefined();
    expect((await r.activeOrigins()).size).toBeGreaterThan(0);
  });

  it('active origins leave out revoked keys; last use is recorded', async () => {
    const r = repo();
    const gone = await r.create({ ...input, origins: ['https://gone.example'] });
    await r.revoke(gone.key.id);
    const kept = await r.create({ ...input, origins: ['https://kept.example'] });
    const origins = await r.activeOrigins();
    expect(origins.has('https://kept.example')).toBe(true);
    expect(origins.has('https://gone.example')).toBe(false);
    clock.advance(60_000);
    await r.markUsed(kept.key.id);
    expect((await r.get(kept.key.id))?.lastUsedAt).toBe(clock.now());
  });

  it('refuses origins that are not exact scheme://host[:port], naming the fix', async () => {
    const cases: [string, RegExp][] = [
      ['https://shop.example/', /write it as https:\/\/shop\.example/],
      ['https://shop.example/page', /no path/],
      ['HTTPS://Shop.Example', /write it as https:\/\/shop\.example/],
      ['https://shop.example:443', /write it as https:\/\/shop\.example /],
      ['ftp://shop.example', /http:\/\/ or https:\/\//],
      ['shop.example', /not a URL/],
    ];
    for (const [origin, message] of cases) {
      const err = await repo().create({ ...input, origins: [origin] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZodError);
      expect((err as ZodError).issues[0].path).toEqual(['origins', 0]);
      expect((err as ZodError).issues[0].message).toMatch(message);
    }
  });
});

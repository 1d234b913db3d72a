import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WidgetAccess } from '../../src/app/widget-access.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { WidgetKeyRepository, type CreatedWidgetKey } from '../../src/store/widget-key-repository.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger } from '../support/captured-logger.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

const SHOP = 'https://shop.example';

describe('widget access: who may call from another website', () => {
  const clock = new FakeClock();
  const logs = captureLogger();
  const bots = new Set(['flow', 'other']);
  let dir: TempDir;
  let store: Store;
  let keys: WidgetKeyRepository;
  let access: WidgetAccess;

  beforeAll(async () => {
    dir = await makeTempDir('voxgate-widget-access-');
    store = await openDatabase({ dataDir: dir.path });
    keys = new WidgetKeyRepository(store.db, clock);
    access = new WidgetAccess({ keys, knowsBot: (name) => bots.has(name), clock, logger: logs.logger, cacheMs: 5000 });
  });
  afterAll(async () => {
    await access.close();
    await store.close();
    await dir.remove();
  });

  const newKey = (over: Partial<Parameters<WidgetKeyRepository['create']>[0]> = {}) => keys.create({ name: 'Shop', bot: 'flow', origins: [SHOP], maxConcurrentCalls: 2, callsPerMinute: 5, ...over });
  /** `origin` null: a request without an Origin header. */
  const call = (key: CreatedWidgetKey | string, origin: string | null = SHOP, bot?: string) =>
    access.admitCall({ authorization: `Bearer ${typeof key === 'string' ? key : key.secret}`, origin: origin ?? undefined, ip: '127.0.0.1', bot });
  const admitted = async (key: CreatedWidgetKey) => {
    const outcome = await call(key);
    if (!outcome?.ok) throw new Error(`expected the call admitted, got ${JSON.stringify(outcome)}`);
    return outcome.caller;
  };

  it('admits a call from an allowed origin as widget:<keyId>, named after the key, to the key\'s bot', async () => {
    const key = await newKey({ name: 'Shop front page' });
    const caller = await admitted(key);
    expect(caller).toEqual({ identity: `widget:${key.key.id}`, displayName: 'Shop front page', bot: 'flow', release: expect.any(Function) });
    caller.release();
    expect((await keys.get(key.key.id))?.lastUsedAt).toBe(clock.now());
  });

  it('leaves credentials that are not widget keys to the console path', async () => {
    expect(await access.admitCall({ authorization: 'Bearer some-console-access-token', origin: SHOP, ip: '127.0.0.1' })).toBeUndefined();
    expect(await access.checkOrigin({ authorization: 'Bearer some-console-access-token', origin: SHOP })).toBeUndefined();
  });

  it('401 for a malformed key and for an unknown key or a wrong secret', async () => {
    const key = await newKey();
    expect(await call('vxw_not-a-key')).toEqual({ ok: false, status: 401, error: 'the widget key is malformed: expected vxw_<id>.<secret> as shown when the key was created' });
    const wrongSecret = `${key.secret.slice(0, -2)}zz`;
    expect(await call(wrongSecret)).toEqual({ ok: false, status: 401, error: `unknown widget key ${key.key.id} (no such key, or a wrong secret)` });
    expect(await call(key.secret.replace(key.key.id, 'AAAAAAAAAAAAAAAA'))).toMatchObject({ status: 401, error: 'unknown widget key AAAAAAAAAAAAAAAA (no such key, or a wrong secret)' });
  });

  it('403 naming the origin and the key when the Origin is not in its list, or missing; the check holds for preflights and hang-ups too', async () => {
    const key = await newKey();
    expect(await call(key, 'https://evil.example')).toEqual({ ok: false, status: 403, error: `origin https://evil.example is not allowed for widget key ${key.key.id}; add it to the key's origins` });
    expect(await call(key, null)).toEqual({ ok: false, status: 403, error: `widget key ${key.key.id} works only from a web page of its allowed origins: the request has no Origin header` });
    expect(await access.checkOrigin({ authorization: `Bearer ${key.secret}`, origin: 'https://evil.example' })).toMatchObject({ status: 403 });
    expect(await access.checkOrigin({ authorization: `Bearer ${key.secret}`, origin: SHOP })).toEqual({ ok: true });
    // Preflights carry no credential: an origin any active key lists passes, others are left to WebCallers.
    expect(await access.checkOrigin({ origin: SHOP })).toEqual({ ok: true });
    expect(await access.checkOrigin({ origin: 'https://evil.example' })).toBeUndefined();
    expect(logs.lines.some((l) => l.msg === 'widget call refused' && l.origin === 'https://evil.example' && l.keyId === key.key.id)).toBe(true);
  });

  it('a revocation through this process is refused at once (403 naming the key), on new calls and on requests about admitted ones', async () => {
    const key = await newKey({ origins: ['https://revoked.example'] });
    const caller = (await call(key, 'https://revoked.example'))!;
    expect(caller.ok).toBe(true);
    await keys.revoke(key.key.id);
    expect(await call(key, 'https://revoked.example')).toEqual({ ok: false, status: 403, error: `widget key ${key.key.id} was revoked` });
    expect(await access.checkOrigin({ authorization: `Bearer ${key.secret}`, origin: 'https://revoked.example' })).toEqual({ ok: false, status: 403, error: `widget key ${key.key.id} was revoked` });
    expect(await access.checkOrigin({ origin: 'https://revoked.example' })).toBeUndefined();
  });

  it('a revocation written by another instance is seen once the cache time is over (or at once through forget)', async () => {
    const key = await newKey();
    (await admitted(key)).release();
    await store.db.updateTable('widget_keys').set({ revoked_at: clock.now() }).where('id', '=', key.key.id).execute();
    // Cached: the store is not read again within cacheMs.
    expect((await call(key))?.ok).toBe(true);
    clock.advance(5001);
    expect(await call(key)).toMatchObject({ status: 403, error: `widget key ${key.key.id} was revoked` });

    const other = await newKey();
    (await admitted(other)).release();
    await store.db.updateTable('widget_keys').set({ revoked_at: clock.now() }).where('id', '=', other.key.id).execute();
    access.forget(other.key.id);
    expect(await call(other)).toMatchObject({ status: 403 });
  });

  it('404 when the key\'s bot no longer exists; 403 when the page asks for another bot', async () => {
    const key = await newKey({ bot: 'other' });
    expect(await call(key, SHOP, 'flow')).toEqual({ ok: false, status: 403, error: `widget key ${key.key.id} may call bot "other" only, not "flow"` });
    bots.delete('other');
    try {
      expect(await call(key)).toEqual({ ok: false, status: 404, error: `bot "other" of widget key ${key.key.id} no longer exists` });
    } finally {
      bots.add('other');
    }
  });

  it('429 past maxConcurrentCalls; releasing one lets the next call in (a second release frees nothing more)', async () => {
    const key = await newKey({ maxConcurrentCalls: 2, callsPerMinute: 100 });
    const first = await admitted(key);
    await admitted(key);
    expect(await call(key)).toEqual({ ok: false, status: 429, error: `widget key ${key.key.id} has 2 calls in progress, its limit (maxConcurrentCalls 2); try again when one ends` });
    first.release();
    first.release();
    await admitted(key);
    expect(await call(key)).toMatchObject({ status: 429 });
  });

  it('429 with retryAfterSec past callsPerMinute; the window slides with the clock', async () => {
    const key = await newKey({ maxConcurrentCalls: 100, callsPerMinute: 3 });
    for (let i = 0; i < 3; i++) {
      (await admitted(key)).release();
      clock.advance(10_000);
    }
    // Starts at t, t+10 s, t+20 s; now t+30 s: the first leaves the window in 30 s.
    expect(await call(key)).toEqual({ ok: false, status: 429, error: `widget key ${key.key.id} started 3 calls in the last minute, its limit (callsPerMinute 3); try again in 30 s`, retryAfterSec: 30 });
    clock.advance(29_000);
    expect(await call(key)).toMatchObject({ status: 429, retryAfterSec: 1 });
    clock.advance(1000);
    (await admitted(key)).release();
    expect(await call(key)).toMatchObject({ status: 429, retryAfterSec: 10 });
  });

  it('limits edited through the API apply to the next call', async () => {
    const key = await newKey({ maxConcurrentCalls: 1, callsPerMinute: 100 });
    await admitted(key);
    expect(await call(key)).toMatchObject({ status: 429 });
    await keys.update(key.key.id, { maxConcurrentCalls: 2 });
    await admitted(key);
  });
});

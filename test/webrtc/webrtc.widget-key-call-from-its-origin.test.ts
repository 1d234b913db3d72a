import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { GREETING, promptPlayed } from '../support/e2e-fixtures.js';
import { WhipRefused } from '../support/webrtc-client.js';
import { MENU_BOT, startWebRtcE2e, TOKEN, type WebRtcE2e } from './webrtc-e2e.js';

const SHOP = 'https://shop.example';

describe('a website calling over WebRTC with a widget key', () => {
  let e2e: WebRtcE2e;
  let key: { id: string };
  let secret: string;
  beforeAll(async () => {
    e2e = await startWebRtcE2e();
    const res = await fetch(`${e2e.baseUrl}/api/v1/widget-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Shop', bot: MENU_BOT, origins: [SHOP], maxConcurrentCalls: 2, callsPerMinute: 10 }),
    });
    expect(res.status).toBe(201);
    ({ key, secret } = (await res.json()) as { key: { id: string }; secret: string });
  });
  afterAll(() => e2e?.close());

  it('is answered from the key origin (CORS granted, the record names the key), and refused from another origin', async () => {
    const preflight = await fetch(`${e2e.baseUrl}/webrtc/whip`, { method: 'OPTIONS', headers: { origin: SHOP, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(SHOP);

    const refused = await e2e.call({ token: secret, origin: 'https://evil.example', bot: undefined }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(WhipRefused);
    expect(refused).toMatchObject({ status: 403, body: { error: expect.stringContaining('https://evil.example') } });

    const ended = e2e.nextCallEnded();
    const greeted = promptPlayed(e2e.gateway, GREETING);
    const caller = await e2e.call({ token: secret, origin: SHOP, bot: undefined });
    await caller.connected();
    await greeted;
    expect(caller.audibleMs()).toBeGreaterThan(1000);
    caller.pressKeypad('2');
    await ended;
    await e2e.gateway.records.flush();
    const db = new Database(join(e2e.dataDir, 'voxgate.db'), { readonly: true });
    try {
      expect(db.prepare('select carrier, from_number, to_number from calls where id = ?').get(caller.callId)).toEqual({ carrier: 'webrtc', from_number: `widget:${key.id}`, to_number: MENU_BOT });
    } finally {
      db.close();
    }
  });
});

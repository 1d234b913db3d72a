import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { GREETING, SALES, promptPlayed } from '../support/e2e-fixtures.js';
import { startWebRtcE2e, type WebRtcE2e } from './webrtc-e2e.js';

describe('hanging up a browser call', () => {
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    e2e = await startWebRtcE2e();
  });
  afterAll(() => e2e?.close());

  function record(callId: string): Record<string, unknown> {
    const db = new Database(join(e2e.dataDir, 'voxgate.db'), { readonly: true });
    try {
      return db.prepare('select * from calls where id = ?').get(callId) as Record<string, unknown>;
    } finally {
      db.close();
    }
  }

  it('by DELETE: the call ends as a caller hangup, the page gets `ended`, the session is gone', async () => {
    const ended = e2e.nextCallEnded();
    const greeted = promptPlayed(e2e.gateway, GREETING);
    const caller = await e2e.call();
    await caller.connected();
    await greeted;
    const res = await caller.hangup();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ended: true, callId: caller.callId });
    expect(await ended).toMatchObject({ callId: caller.callId, reason: 'caller-hangup', side: 'caller', cause: 'Caller hung up' });
    expect(await caller.nextEvent('ended')).toMatchObject({ reason: 'caller-hangup' });
    await caller.closed();
    expect((await caller.hangup()).status).toBe(404);
    await e2e.gateway.records.flush();
    expect(record(caller.callId)).toMatchObject({ carrier: 'webrtc', hangup_side: 'caller', end_reason: 'caller-hangup', hangup_cause: 'Caller hung up' });
  });

  it('by the page `hangup` message on the data channel', async () => {
    const ended = e2e.nextCallEnded();
    const caller = await e2e.call();
    await caller.connected();
    caller.sendPage({ type: 'hangup' });
    expect(await ended).toMatchObject({ callId: caller.callId, reason: 'caller-hangup', cause: 'Caller hung up (page)' });
    await caller.closed();
  });

  it('by the bot: the page hears the last prompt, gets `ended`, and the gateway closes its side', async () => {
    const ended = e2e.nextCallEnded();
    const sales = promptPlayed(e2e.gateway, SALES);
    const caller = await e2e.call();
    await caller.connected();
    caller.pressKeypad('1');
    await sales;
    expect(await ended).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    expect(await caller.nextEvent('ended')).toMatchObject({ reason: 'bot-hangup' });
    // The gateway closes the connection after `ended` (its data channel first), without the page doing anything.
    await caller.closed();
    expect(caller.channel?.readyState).toBe('closed');
  });

  it('by the page closing its peer connection without a DELETE: the call ends as a caller hangup', async () => {
    const ended = e2e.nextCallEnded();
    const caller = await e2e.call();
    await caller.connected();
    await caller.close();
    expect(await ended).toMatchObject({ callId: caller.callId, reason: 'caller-hangup', side: 'caller' });
    await e2e.gateway.records.flush();
    expect(record(caller.callId)).toMatchObject({ hangup_side: 'caller', end_reason: 'caller-hangup' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { rmsDbfs } from '../../src/media/audio.js';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';
import { GREETING, SALES, SUPPORT, heardSegments, menuFlow as flow, spokenMs } from '../support/e2e-fixtures.js';

describe('an inbound Plivo call answered by the flow bot, end to end', () => {
  let e2e: E2eSetup;
  beforeAll(async () => {
    e2e = await startE2e({ bots: [{ name: 'menu-bot', type: 'flow', flow }], routes: [{ number: VOXGATE_NUMBER, bot: 'menu-bot' }] });
  });
  afterAll(() => e2e?.close());

  it('greets the caller, follows the key the caller pressed, hangs up, and stores the call', async () => {
    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 30 } });
    // The caller presses 2 once the greeting has finished playing in their ear.
    call.once('heard-audio-stop', () => call.party.press('2'));
    const result = await call.ended;
    const end = await ended;
    await e2e.gateway.records.flush();

    // What the caller heard: the greeting, then the support answer (not sales), each as long as the TTS made it.
    const [greetingMs, supportMs, salesMs] = await Promise.all([spokenMs(GREETING), spokenMs(SUPPORT), spokenMs(SALES)]);
    const segments = heardSegments(call.timeline);
    expect(segments).toHaveLength(2);
    expect(segments[0].durationMs).toBeGreaterThan(greetingMs * 0.9);
    expect(segments[0].durationMs).toBeLessThan(greetingMs * 1.1);
    expect(Math.abs(segments[1].durationMs - supportMs)).toBeLessThan(supportMs * 0.1);
    expect(Math.abs(segments[1].durationMs - salesMs)).toBeGreaterThan(salesMs * 0.1);
    const greetingAudio = result.heard.subarray(Math.round(segments[0].atMs * 8), Math.round((segments[0].atMs + segments[0].durationMs) * 8));
    expect(rmsDbfs(greetingAudio)).toBeGreaterThan(-35);

    // The bot ended the call after its answer had played: a normal hangup requested by Voxgate.
    expect(result.cause).toBe('Normal Hangup');
    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway', cause: 'Normal Hangup' });

    // The records are in the SQLite file.
    const db = new Database(join(e2e.dataDir, 'voxgate.db'), { readonly: true });
    try {
      const row = db.prepare('select * from calls where carrier_call_id = ?').get(call.callUuid) as Record<string, unknown>;
      expect(row).toMatchObject({ carrier: 'plivo', direction: 'inbound', from_number: '14155550123', to_number: '14155550100', bot: 'menu-bot', hangup_cause: 'Normal Hangup', hangup_side: 'gateway', end_reason: 'bot-hangup' });
      expect(row.ended_at).toBeGreaterThan(row.started_at as number);
      expect(Math.abs((row.duration_ms as number) - result.durationSec * 1000)).toBeLessThan(1500);
      const lines = db.prepare('select speaker, text from transcript_lines where call_id = ? order by at, id').all(row.id);
      expect(lines).toEqual([
        { speaker: 'bot', text: GREETING },
        { speaker: 'bot', text: SUPPORT },
      ]);
      expect(db.prepare('select digit from dtmf_events where call_id = ?').all(row.id)).toEqual([{ digit: '2' }]);
      const prompts = db.prepare('select text, heard_in_full from prompts where call_id = ? order by started_at').all(row.id);
      expect(prompts).toEqual([
        { text: GREETING, heard_in_full: 1 },
        { text: SUPPORT, heard_in_full: 1 },
      ]);
    } finally {
      db.close();
    }
  });

  it('records a caller who hangs up during the greeting as caller-hangup with the prompt cut', async () => {
    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550999', to: VOXGATE_NUMBER, script: {} });
    call.once('heard-audio-start', () => call.party.hangUp(500));
    const result = await call.ended;
    const end = await ended;
    await e2e.gateway.records.flush();
    expect(end).toMatchObject({ reason: 'caller-hangup', side: 'caller' });
    const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callUuid, 'plivo');
    expect(record).toMatchObject({ hangupSide: 'caller', endReason: 'caller-hangup', hangupCause: result.cause });
    const prompts = await e2e.gateway.store.prompts.listForCall(record!.id);
    expect(prompts.map((p) => p.heardInFull)).toEqual([false]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';
import { offerFlow as flow, statusesOf } from '../support/e2e-fixtures.js';

describe('outbound calls placed through Plivo (simulator), end to end', () => {
  let e2e: E2eSetup;
  beforeAll(async () => {
    e2e = await startE2e({ bots: [{ name: 'offer', type: 'flow', flow }], routes: [{ number: '*', bot: 'offer' }] });
  });
  afterAll(() => e2e?.close());

  it('an answered call: initiated, ringing, answered, completed with the digits the callee pressed; the bot learns the target', async () => {
    e2e.sim.addCallee('+14155550201', { answerAfterSec: 0.2, keys: [{ atSec: 1, digits: '1' }] });
    const placed: { id?: string } = {};
    const statuses = statusesOf(e2e.gateway, () => placed.id);
    placed.id = (await e2e.gateway.dialer.place({ bot: 'offer', target: 'tel:+14155550201', caller: VOXGATE_NUMBER, source: 'dialout', metadata: { ticket: 'T-1' } })).conversationId;
    const seen = await statuses;
    expect(seen.map((s) => s.status)).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(seen.at(-1)).toMatchObject({ dtmf: '1', endReason: 'bot-hangup' });
    await e2e.gateway.records.flush();
    const record = await e2e.gateway.store.calls.get(placed.id!);
    expect(record).toMatchObject({ direction: 'outbound', to: '14155550201', bot: 'offer', endReason: 'bot-hangup' });
    expect(await e2e.gateway.store.outboundCalls.get(placed.id!)).toMatchObject({ status: 'completed', target: '+14155550201', source: 'dialout' });
  });

  it('a busy line fails with reason busy and still leaves a call record', async () => {
    e2e.sim.addCallee('+14155550202', { busy: true });
    const placed: { id?: string } = {};
    const statuses = statusesOf(e2e.gateway, () => placed.id);
    placed.id = (await e2e.gateway.dialer.place({ bot: 'offer', target: '+14155550202', caller: VOXGATE_NUMBER, source: 'dialout' })).conversationId;
    const seen = await statuses;
    expect(seen.at(-1)).toMatchObject({ status: 'failed', reasonCode: 'busy' });
    await e2e.gateway.records.flush();
    expect(await e2e.gateway.store.calls.get(placed.id!)).toMatchObject({ direction: 'outbound', endReason: 'busy' });
  });

  it('a callee who declines fails with reason declined', async () => {
    e2e.sim.addCallee('+14155550203', { declines: true, answerAfterSec: 0.3 });
    const placed: { id?: string } = {};
    const statuses = statusesOf(e2e.gateway, () => placed.id);
    placed.id = (await e2e.gateway.dialer.place({ bot: 'offer', target: '+14155550203', caller: VOXGATE_NUMBER, source: 'dialout' })).conversationId;
    expect((await statuses).at(-1)).toMatchObject({ status: 'failed', reasonCode: 'declined' });
  });

  it('machineDetection disconnect: an answering machine ends the call as failed, machine-detected', async () => {
    e2e.sim.addCallee('+14155550205', { machine: true, answerAfterSec: 0.2 });
    const placed: { id?: string } = {};
    const statuses = statusesOf(e2e.gateway, () => placed.id);
    placed.id = (await e2e.gateway.dialer.place({ bot: 'offer', target: '+14155550205', caller: VOXGATE_NUMBER, source: 'dialout', machineDetection: 'disconnect' })).conversationId;
    expect((await statuses).at(-1)).toMatchObject({ status: 'failed', reasonCode: 'machine-detected' });
  }, 20_000);

  it('machineDetection detect: the call goes on and completes, marked machine-detected', async () => {
    e2e.sim.addCallee('+14155550206', { machine: true, answerAfterSec: 0.2, hangupAfterSec: 8 });
    const placed: { id?: string } = {};
    const statuses = statusesOf(e2e.gateway, () => placed.id);
    placed.id = (await e2e.gateway.dialer.place({ bot: 'offer', target: '+14155550206', caller: VOXGATE_NUMBER, source: 'dialout', machineDetection: 'detect' })).conversationId;
    const seen = await statuses;
    expect(seen.map((x) => x.status)).toContain('answered');
    expect(seen.at(-1)).toMatchObject({ status: 'completed', reasonCode: 'machine-detected' });
  }, 20_000);

  it('refuses a request naming an unknown bot or a target that is not a number, naming the field', async () => {
    await expect(e2e.gateway.dialer.place({ bot: 'nobody', target: '+14155550204', caller: VOXGATE_NUMBER, source: 'dialout' })).rejects.toThrow(/bot: unknown bot "nobody"/);
    await expect(e2e.gateway.dialer.place({ bot: 'offer', target: 'sip:alice', caller: VOXGATE_NUMBER, source: 'dialout' })).rejects.toThrow(/target: "sip:alice" is not a phone number/);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { analyseHeard, writeToneWav } from '../support/baresip-audio.js';
import { Baresip, BARESIP_AVAILABLE, BARESIP_SKIP_REASON } from '../support/baresip.js';
import { SIP_NUMBER, startSipE2e, type SipE2eSetup } from '../support/e2e-sip.js';

if (!BARESIP_AVAILABLE) console.warn(`skipping the SIP transfer tests with real phones: ${BARESIP_SKIP_REASON}`);

const CONNECTING = 'Connecting you to an agent.';

/** A flow that says one line and hands the caller to `target`. */
const transferFlow = (target: string) => ({
  name: 'handover',
  language: 'en-US',
  start: 'handover',
  steps: { handover: { say: CONNECTING, transfer: { target, reason: 'caller asked for a person', sipHeaders: [{ name: 'X-Queue', value: 'billing' }] } } },
});

describe.skipIf(!BARESIP_AVAILABLE)(`a bot hands a SIP caller to an agent's phone${BARESIP_AVAILABLE ? '' : ' (skipped: baresip not installed)'}`, () => {
  let dir: string;
  let agentTone: string;
  let callerTone: string;
  let e2e: SipE2eSetup | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-sip-transfer-'));
    agentTone = join(dir, 'agent-440hz.wav');
    callerTone = join(dir, 'caller-1000hz.wav');
    await writeToneWav(agentTone, { hz: 440, ms: 2000 });
    await writeToneWav(callerTone, { hz: 1000, ms: 10_000 });
  });
  afterEach(async () => {
    await Baresip.stopAll();
    await e2e?.close();
    e2e = undefined;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('blind (REFER): the caller phone calls the agent itself, hears the agent, and the record says transferred, where and why', async () => {
    const agent = await Baresip.start({ name: 'agent', autoAnswer: true, microphoneWav: agentTone });
    const caller = await Baresip.start({ name: 'caller', record: true, sipTrace: true });
    e2e = await startSipE2e({ bots: [{ name: 'handover', type: 'flow', flow: transferFlow(agent.uri) }], routes: [{ number: SIP_NUMBER, bot: 'handover' }] });
    const ended = e2e.nextCallEnded();
    await caller.dial(e2e.uriFor(SIP_NUMBER));
    const first = await caller.waitForEvent('CALL_ESTABLISHED');
    // The REFER makes the caller's phone dial the agent; once the agent answered, Voxgate leaves with a BYE.
    await caller.waitForEvent('TRANSFER');
    const atAgent = await agent.waitForEvent('CALL_ESTABLISHED');
    expect(atAgent.peeruri).toMatch(/^sip:caller@127\.0\.0\.1/);
    // The REFER carried the target, who refers, and the bot's header.
    expect(caller.log).toMatch(new RegExp(`Refer-To: <${agent.uri.replace(/[.]/g, '\\.')}>`));
    expect(caller.log).toMatch(/Referred-By: /);
    expect(caller.log).toMatch(/X-Queue: billing/);
    const closed = await caller.waitForEvent('CALL_CLOSED', 10_000, (e) => e.id === first.id);
    expect(closed.param).toBe('Connection reset by peer');
    const end = await ended;
    expect(end).toMatchObject({ reason: 'transferred', side: 'gateway' });
    // The caller hears the agent's tone on the new call.
    await caller.waitForHeardMs(2500);
    await caller.hangup();
    await agent.waitForEvent('CALL_CLOSED');
    const recordings = await caller.recordings();
    const heardAgent = await analyseHeard(recordings.at(-1)!);
    expect(heardAgent.audibleMs).toBeGreaterThan(1500);
    expect(Math.abs(heardAgent.audibleHz - 440)).toBeLessThan(44);

    await e2e.gateway.records.flush();
    const record = await e2e.gateway.store.calls.getByCarrierCallId(String(first.id), 'sip');
    expect(record).toMatchObject({ endReason: 'transferred', transferTarget: agent.uri, transferMode: 'blind', transferReason: 'caller asked for a person' });
  });

  it('blind to an agent who rejects: the REFER fails (NOTIFY 486), the caller stays with Voxgate, and nothing is recorded as a transfer', async () => {
    const agent = await Baresip.start({ name: 'agent', rejectWith: 486 });
    const caller = await Baresip.start({ name: 'caller' });
    e2e = await startSipE2e({ bots: [{ name: 'handover', type: 'flow', flow: transferFlow(agent.uri) }], routes: [{ number: SIP_NUMBER, bot: 'handover' }] });
    const ended = e2e.nextCallEnded();
    await caller.dial(e2e.uriFor(SIP_NUMBER));
    const first = await caller.waitForEvent('CALL_ESTABLISHED');
    await caller.waitForEvent('TRANSFER');
    // The caller's phone tried the agent and was turned away; its NOTIFY tells Voxgate so.
    expect(await caller.waitForEvent('CALL_CLOSED')).toMatchObject({ param: '486 Rejected', peeruri: agent.uri });
    // Still on the line with Voxgate.
    expect(e2e.gateway.calls.list()).toHaveLength(1);
    await caller.hangup();
    expect(await ended).toMatchObject({ reason: 'caller-hangup', side: 'caller' });
    await e2e.gateway.records.flush();
    const record = await e2e.gateway.store.calls.getByCarrierCallId(String(first.id), 'sip');
    expect(record).toMatchObject({ endReason: 'caller-hangup', transferTarget: null });
  });

  it('bridge (new INVITE): Voxgate calls the agent and joins the audio both ways until the caller hangs up', async () => {
    const agent = await Baresip.start({ name: 'agent', autoAnswer: true, microphoneWav: agentTone, record: true, sipTrace: true });
    const caller = await Baresip.start({ name: 'caller', record: true, microphoneWav: callerTone });
    e2e = await startSipE2e({
      bots: [{ name: 'handover', type: 'flow', flow: transferFlow(agent.uri), settings: { transferMode: 'bridge' } }],
      routes: [{ number: SIP_NUMBER, bot: 'handover' }],
    });
    const ended = e2e.nextCallEnded();
    await caller.dial(e2e.uriFor(SIP_NUMBER));
    const call = await caller.waitForEvent('CALL_ESTABLISHED');
    // Voxgate dials the agent from its own SIP stack, with the bot's header, and the caller's number as caller id.
    const atAgent = await agent.waitForEvent('CALL_ESTABLISHED');
    expect(atAgent.peeruri).toMatch(/^sip:caller@/);
    expect(agent.log).toMatch(/X-Queue: billing/);
    await agent.waitForHeardMs(2500);
    await caller.waitForHeardMs(6000);
    await caller.hangup();
    // The caller's hangup ends the agent's leg too.
    expect((await agent.waitForEvent('CALL_CLOSED')).param).toBe('Connection reset by peer');
    const end = await ended;
    expect(end).toMatchObject({ side: 'caller' });

    const heardByAgent = await analyseHeard((await agent.recordings())[0]);
    expect(heardByAgent.audibleMs).toBeGreaterThan(1500);
    expect(Math.abs(heardByAgent.audibleHz - 1000)).toBeLessThan(100);
    const heardByCaller = await analyseHeard((await caller.recordings())[0]);
    // The greeting, then the agent's two seconds of tone through the bridge.
    expect(heardByCaller.audibleMs).toBeGreaterThan(2500);

    await e2e.gateway.records.flush();
    const record = await e2e.gateway.store.calls.getByCarrierCallId(String(call.id), 'sip');
    expect(record).toMatchObject({ transferTarget: agent.uri, transferMode: 'bridge', hangupSide: 'caller' });
    // The call lasted through the bridged conversation, not just the bot's part.
    expect(record!.durationMs!).toBeGreaterThan(5000);
  });
});

/**
 * Kamailio as the SIP front of two Voxgate processes, with the shipped deploy/kamailio/kamailio.cfg:
 * a real phone (baresip) calls Kamailio's address; the dispatcher spreads the calls round robin, the ACK
 * and the bot's BYE follow the recorded route through Kamailio, RTP flows directly between the phone
 * and the Voxgate that took the call. A Voxgate that drains (OPTIONS 503) or dies (no answer) is marked
 * down by Kamailio's probes and gets no new calls; a drained one that answers 200 again gets them back.
 *
 * The Voxgates are separate child processes (test/support/sip-voxgate-process.ts), as deployed; Kamailio
 * listens on 127.0.0.1 only, does no DNS, and refuses to relay anywhere but 127.0.0.1 (LOOPBACK_ONLY).
 * Skipped, with the reason, without kamailio or baresip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Baresip, BARESIP_AVAILABLE, BARESIP_SKIP_REASON } from '../support/baresip.js';
import { Kamailio, KAMAILIO_AVAILABLE, KAMAILIO_SKIP_REASON } from '../support/kamailio.js';
import { VoxgateProcess } from '../support/sip-voxgate-processes.js';

/** The number the Voxgates route to their bot (SIP_NUMBER of e2e-sip.ts, not imported: this process runs no gateway). */
const NUMBER = '+14155550170';
const SKIP_REASON = !KAMAILIO_AVAILABLE ? KAMAILIO_SKIP_REASON : !BARESIP_AVAILABLE ? BARESIP_SKIP_REASON : '';
if (SKIP_REASON) console.warn(`skipping the Kamailio front test: ${SKIP_REASON}`);

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(SKIP_REASON !== '')(`Kamailio spreads calls over two Voxgate processes${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  let a: VoxgateProcess;
  let b: VoxgateProcess;
  let kamailio: Kamailio;
  let phone: Baresip;

  beforeAll(async () => {
    [a, b] = await Promise.all([VoxgateProcess.start('voxgate-a'), VoxgateProcess.start('voxgate-b')]);
    kamailio = await Kamailio.start({ destinations: [`127.0.0.1:${a.sipPort}`, `127.0.0.1:${b.sipPort}`], pingIntervalSec: 1, frTimerMs: 1000 });
    phone = await Baresip.start({ name: 'alice', codecs: ['PCMU'] });
  }, 60_000);

  afterAll(async () => {
    await phone?.stop();
    await kamailio?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const nameOf = (v: VoxgateProcess) => (v === a ? 'a' : 'b');
  const downLine = (v: VoxgateProcess) => new RegExp(`destination down: sip:127\\.0\\.0\\.1:${v.sipPort}\\b`);
  const upLine = (v: VoxgateProcess) => new RegExp(`destination up: sip:127\\.0\\.0\\.1:${v.sipPort}\\b`);

  /**
   * One call through Kamailio: the phone dials Kamailio's address, the bot speaks and hangs up, its BYE
   * reaches the phone through Kamailio. Returns which Voxgate took it.
   */
  async function placeCall(): Promise<'a' | 'b'> {
    await phone.dial(`sip:${NUMBER}@127.0.0.1:${kamailio.port}`);
    const established = await phone.waitForEvent('CALL_ESTABLISHED', 10_000);
    const sipCallId = String(established.id);
    // Media flows straight from the Voxgate to the phone (Kamailio relays signalling only).
    await phone.waitForEvent('CALL_RTPESTAB', 10_000, (e) => e.id === sipCallId);
    const closed = await phone.waitForEvent('CALL_CLOSED', 15_000, (e) => e.id === sipCallId);
    expect(closed.param, `call ${sipCallId}`).toBe('Connection reset by peer'); // the bot's BYE
    const started = await Promise.any([a, b].map((v) => v.waitFor((e) => e.event === 'call.started' && e.sipCallId === sipCallId, 5000).then(() => v)));
    const other = started === a ? b : a;
    // Exactly one Voxgate saw the INVITE (no failover was needed), and its call ended as the bot hung up.
    expect(other.events.some((e) => e.event === 'invite' && e.sipCallId === sipCallId), `call ${sipCallId}`).toBe(false);
    const callId = started.events.find((e) => e.event === 'call.started' && e.sipCallId === sipCallId)!.callId;
    await expect(started.waitFor((e) => e.event === 'call.ended' && e.callId === callId, 5000)).resolves.toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    // The phone's ACK and the bot's BYE went through Kamailio: both route sets hold Kamailio's Record-Route.
    await kamailio.waitForLog(new RegExp(`ACK of call ${escape(sipCallId)} follows the recorded route to sip:voxgate@127\\.0\\.0\\.1:${started.sipPort}\\b`), 5000);
    await kamailio.waitForLog(new RegExp(`BYE of call ${escape(sipCallId)} follows the recorded route to sip:alice`), 5000);
    return nameOf(started);
  }

  it('probes both with OPTIONS, alternates four calls between them, and the ACK and BYE follow the recorded route', { timeout: 60_000 }, async () => {
    await Promise.all([a.waitFor((e) => e.event === 'options'), b.waitFor((e) => e.event === 'options')]);
    const took: string[] = [];
    for (let i = 0; i < 4; i++) took.push(await placeCall());
    expect(took.filter((t) => t === 'a')).toHaveLength(2);
    expect(took.filter((t) => t === 'b')).toHaveLength(2);
    // Round robin: never the same one twice in a row.
    expect(took.every((t, i) => i === 0 || t !== took[i - 1]), took.join(',')).toBe(true);
    expect(kamailio.lines(/dispatched to/)).toHaveLength(4);
  });

  it('a draining Voxgate (it answers the probes 503) gets no new calls, and gets them again once it answers 200', { timeout: 60_000 }, async () => {
    const mark = kamailio.log.length;
    b.command('drain');
    await kamailio.waitForLog(downLine(b), 10_000, mark);
    const invitesBefore = b.count('invite');
    const took: string[] = [];
    for (let i = 0; i < 3; i++) took.push(await placeCall());
    expect(took).toEqual(['a', 'a', 'a']);
    expect(b.count('invite')).toBe(invitesBefore);

    const upMark = kamailio.log.length;
    b.command('undrain');
    await kamailio.waitForLog(upLine(b), 10_000, upMark);
    const after = [await placeCall(), await placeCall()];
    expect(after.sort()).toEqual(['a', 'b']);
  });

  it('a Voxgate that dies is marked down by the probes, and new calls land on the survivor', { timeout: 60_000 }, async () => {
    const mark = kamailio.log.length;
    await a.kill();
    await kamailio.waitForLog(downLine(a), 10_000, mark);
    const took = [await placeCall(), await placeCall()];
    expect(took).toEqual(['b', 'b']);
    // Nothing was relayed anywhere but loopback, and nothing had to be refused for it.
    expect(kamailio.lines(/refusing to relay/)).toEqual([]);
  });
});

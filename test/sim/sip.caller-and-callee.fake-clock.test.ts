import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advanceUntil, eventsOf, runUntilEnded, SipPair, tone } from './sip-harness.js';

describe('SIP simulator: a virtual caller and a virtual callee over loopback SIP and RTP (fake clock)', () => {
  let pair: SipPair;
  beforeEach(async () => {
    pair = new SipPair();
    await pair.start();
  });
  afterEach(() => pair.close());

  it('the callee rings, answers after 1 s; each hears the other speak for as long as they spoke, keys arrive as RFC 4733 digits, and the caller hanging up ends both sides with a BYE', async () => {
    pair.far.addCallee('+14155550201', { answerAfterSec: 1, voice: [{ atSec: 0.5, samples: tone(800) }], keys: [{ atSec: 2, digits: '47' }] });
    const { caller, callee } = pair.dial('+14155550201', { voice: [{ atSec: 0.2, samples: tone(600, 600) }], keys: [{ atSec: 1, digits: '9#' }], hangupAfterSec: 4 });
    await runUntilEnded(pair.clock, caller);
    const far = callee()!;
    await runUntilEnded(pair.clock, far);

    const [ringing] = eventsOf(far, 'ringing');
    const [farAnswered] = eventsOf(far, 'answered');
    expect(ringing.to).toBe('+14155550201');
    expect(farAnswered.atMs - ringing.atMs).toBe(1000);
    expect(eventsOf(caller, 'ringing')).toHaveLength(1);

    // What each party heard: one stretch of audio as long as the other's clip (20 ms frames), after the
    // simulated phone's 200 ms jitter buffer and a tick or two of transit.
    const [callerHeard] = eventsOf(caller, 'heard-audio-stop');
    expect(eventsOf(caller, 'heard-audio-stop')).toHaveLength(1);
    expect(callerHeard.durationMs).toBeGreaterThanOrEqual(800);
    expect(callerHeard.durationMs).toBeLessThanOrEqual(840);
    const farClipAt = far.createdAt + farAnswered.atMs + 500 - caller.createdAt;
    expect(callerHeard.atMs - callerHeard.durationMs - farClipAt).toBeGreaterThanOrEqual(0);
    expect(callerHeard.atMs - callerHeard.durationMs - farClipAt).toBeLessThanOrEqual(260);
    const [calleeHeard] = eventsOf(far, 'heard-audio-stop');
    expect(calleeHeard.durationMs).toBeGreaterThanOrEqual(600);
    expect(calleeHeard.durationMs).toBeLessThanOrEqual(640);

    expect(caller.party.heardDigits).toBe('47');
    expect(far.party.heardDigits).toBe('9#');
    expect(eventsOf(far, 'dtmf-heard').map((e) => e.source)).toEqual(['rtp-event', 'rtp-event']);
    expect(eventsOf(caller, 'key').map((e) => [e.digit, e.consumed])).toEqual([
      ['9', true],
      ['#', true],
    ]);

    const [callerAnswered] = eventsOf(caller, 'answered');
    const [callerHangup] = eventsOf(caller, 'hangup');
    expect(callerHangup.atMs - callerAnswered.atMs).toBe(4000);
    const callerResult = await caller.ended;
    expect(callerResult).toMatchObject({ status: 'completed', sipStatus: 200, endedBy: 'party', durationSec: 4, codec: 'PCMU' });
    // One RTP packet every 20 ms for 4 s, voice or silence.
    expect(callerResult.rtp!.packetsSent).toBeGreaterThanOrEqual(195);
    expect(callerResult.rtp!.packetsSent).toBeLessThanOrEqual(202);
    expect(await far.ended).toMatchObject({ status: 'completed', sipStatus: 200, endedBy: 'voxgate', reason: 'Voxgate hung up (BYE)', codec: 'PCMU' });
    expect(caller.status).toBe('completed');
  });

  it.each([
    { script: { busy: true }, status: 'busy', sipStatus: 486, rings: false },
    { script: { declines: true, answerAfterSec: 0.5 }, status: 'declined', sipStatus: 603, rings: true },
    { script: { unreachable: true }, status: 'failed', sipStatus: 480, rings: false },
  ])('a callee script $script refuses the INVITE with $sipStatus ($status)', async ({ script, status, sipStatus, rings }) => {
    pair.far.addCallee('+14155550202', script);
    const { caller, callee } = pair.dial('+14155550202');
    await runUntilEnded(pair.clock, caller);
    expect(await caller.ended).toMatchObject({ status, sipStatus, endedBy: 'voxgate', durationSec: 0 });
    expect(eventsOf(caller, 'ringing')).toHaveLength(rings ? 1 : 0);
    expect(eventsOf(caller, 'answered')).toHaveLength(0);
    expect(await callee()!.ended).toMatchObject({ status, sipStatus, endedBy: 'party' });
    if (script.declines) expect(eventsOf(caller, 'hangup')[0].atMs - eventsOf(caller, 'ringing')[0].atMs).toBeGreaterThanOrEqual(500);
  });

  it('a number with no virtual party is refused 404', async () => {
    const { caller, callee } = pair.dial('+14155550299');
    await runUntilEnded(pair.clock, caller);
    expect(await caller.ended).toMatchObject({ status: 'failed', sipStatus: 404 });
    expect(await callee()!.ended).toMatchObject({ status: 'failed', sipStatus: 404, endedBy: 'simulator' });
  });

  it('a callee who never answers rings until the caller gives up (ring timeout, CANCEL): no-answer for the caller, 487 for the callee', async () => {
    pair.far.addCallee('+14155550203', { neverAnswer: true });
    const { caller, callee } = pair.dial('+14155550203');
    await runUntilEnded(pair.clock, caller);
    expect(await caller.ended).toMatchObject({ status: 'no-answer', sipStatus: 487, endedBy: 'party' });
    const [ringing] = eventsOf(caller, 'ringing');
    expect(eventsOf(caller, 'hangup')[0].atMs - ringing.atMs).toBeGreaterThanOrEqual(9900);
    expect(await callee()!.ended).toMatchObject({ status: 'canceled', sipStatus: 487, endedBy: 'voxgate' });
  });

  it('a caller who hangs up while it rings cancels the INVITE', async () => {
    pair.far.addCallee('+14155550204', { answerAfterSec: 30 });
    const { caller, callee } = pair.dial('+14155550204');
    caller.once('ringing', () => caller.party.hangUp(300));
    await runUntilEnded(pair.clock, caller);
    expect(await caller.ended).toMatchObject({ status: 'canceled', sipStatus: 487, endedBy: 'party' });
    expect(await callee()!.ended).toMatchObject({ status: 'canceled', endedBy: 'voxgate' });
  });

  it('closing the simulator hangs its live calls up with a BYE, which the other side sees', async () => {
    pair.far.addCallee('+14155550205', { answerAfterSec: 0.2 });
    const { caller, callee } = pair.dial('+14155550205');
    await advanceUntil(pair.clock, () => caller.answeredAt !== undefined);
    await advanceUntil(pair.clock, () => (caller.media?.stats.packetsReceived ?? 0) >= 10);
    const closing = pair.near.close();
    await runUntilEnded(pair.clock, caller, callee()!);
    await closing;
    expect(await caller.ended).toMatchObject({ status: 'completed', endedBy: 'simulator', reason: 'the simulator closed' });
    expect(await callee()!.ended).toMatchObject({ status: 'completed', endedBy: 'voxgate' });
    expect(pair.near.liveCalls()).toEqual([]);
  });
});

describe('SIP simulator: a long call (fake clock)', () => {
  it('stays up past the 30-minute session interval: the phones refresh the session (RFC 4028) instead of letting it expire', async () => {
    const pair = new SipPair();
    await pair.start();
    try {
      pair.far.addCallee('+14155550206', { answerAfterSec: 0.2 });
      const { caller, callee } = pair.dial('+14155550206', { hangupAfterSec: 2000, recordHeard: false });
      await advanceUntil(pair.clock, () => caller.answeredAt !== undefined);
      // Whole seconds at a time: media catches up on each step; signalling gets its I/O between steps.
      for (let t = 0; t < 2100 && !caller.isEnded; t++) {
        pair.clock.advance(1000);
        await new Promise<void>((resolve) => setImmediate(resolve));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await runUntilEnded(pair.clock, caller, callee()!);
      expect(await caller.ended).toMatchObject({ status: 'completed', endedBy: 'party', durationSec: 2000 });
      expect(await callee()!.ended).toMatchObject({ status: 'completed', endedBy: 'voxgate' });
    } finally {
      await pair.close();
    }
  });
});

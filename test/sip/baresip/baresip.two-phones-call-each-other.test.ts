import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { analyseHeard, writeToneWav } from '../../support/baresip-audio.js';
import { Baresip, BARESIP_AVAILABLE, BARESIP_SKIP_REASON } from '../../support/baresip.js';

if (!BARESIP_AVAILABLE) console.warn(`skipping baresip tests: ${BARESIP_SKIP_REASON}`);

describe.skipIf(!BARESIP_AVAILABLE)(`two baresip phones call each other${BARESIP_AVAILABLE ? '' : ' (skipped: baresip not installed)'}`, () => {
  let fixtures: string;
  let tone: string;
  beforeAll(async () => {
    fixtures = await mkdtemp(join(tmpdir(), 'vg-baresip-fixtures-'));
    tone = join(fixtures, 'tone-440hz-2s.wav');
    await writeToneWav(tone, { hz: 440, ms: 2000 });
  });
  afterAll(async () => {
    await rm(fixtures, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Baresip.stopAll();
  });

  it('B calls A: A hears the 2 s tone B plays, gets B keys as RFC 4733 DTMF, and both see the BYE', async () => {
    const a = await Baresip.start({ name: 'alice', autoAnswer: true, record: true });
    const b = await Baresip.start({ name: 'bob', microphoneWav: tone });
    expect(a.uri).toBe(`sip:alice@127.0.0.1:${a.sipPort}`);

    await b.dial(a.uri);
    const [atA, atB] = await Promise.all([a.waitForEvent('CALL_ESTABLISHED'), b.waitForEvent('CALL_ESTABLISHED')]);
    expect(atA).toMatchObject({ direction: 'incoming', peeruri: expect.stringContaining('sip:bob@127.0.0.1') });
    expect(atB).toMatchObject({ direction: 'outgoing', peeruri: a.uri });
    // The event id is the SIP Call-ID, the same on both sides.
    expect(atA.id).toBe(atB.id);

    await b.sendDtmf('12#');
    await a.waitForDtmf('12#');
    expect((await a.waitForEvent('CALL_DTMF_START')).param).toBe('1');
    await a.waitForEvent('CALL_DTMF_END');

    // Let the tone play out (B's microphone then sends silence) before B hangs up.
    await a.waitForHeardMs(2600);
    await b.hangup();
    const [closedA, closedB] = await Promise.all([a.waitForEvent('CALL_CLOSED'), b.waitForEvent('CALL_CLOSED')]);
    expect(closedA.param).toBe('Connection reset by peer');
    expect(closedB.param).toBe('Connection reset by user');

    const [heard] = await a.recordings();
    const audio = await analyseHeard(heard);
    expect(audio.sampleRate).toBe(8000);
    expect(audio.audibleMs).toBeGreaterThanOrEqual(1800);
    expect(audio.audibleMs).toBeLessThanOrEqual(2200);
    // 0.5 of full scale is -9 dBFS; G.711 keeps it within a fraction of a dB.
    expect(audio.audibleDbfs).toBeGreaterThan(-10.5);
    expect(audio.audibleDbfs).toBeLessThan(-8);
    expect(audio.audibleHz).toBeGreaterThan(430);
    expect(audio.audibleHz).toBeLessThan(450);
  });
});

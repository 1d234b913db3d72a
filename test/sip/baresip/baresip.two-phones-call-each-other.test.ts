import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { analyseHeard, writeToneWav } from '../../support/baresip-audio.js';
import { Baresip, BARESIP_AVAILABLE, BARESIP_SKIP_REASON } from '../../support/baresip.js';

if (!BARESIP_AVAILABLE) console.warn(`skipping the baresip tests: ${BARESIP_SKIP_REASON}`);

describe.skipIf(!BARESIP_AVAILABLE)(`two baresip phones call each other${BARESIP_AVAILABLE ? '' : ' (skipped: baresip not installed)'}`, () => {
  let fixtures: string;
  let tone8k: string;
  let tone16k: string;
  beforeAll(async () => {
    fixtures = await mkdtemp(join(tmpdir(), 'vg-baresip-fixtures-'));
    tone8k = join(fixtures, 'tone-440hz-2s-8k.wav');
    tone16k = join(fixtures, 'tone-1000hz-1s-16k.wav');
    await writeToneWav(tone8k, { hz: 440, ms: 2000 });
    await writeToneWav(tone16k, { hz: 1000, ms: 1000, sampleRate: 16000 });
  });
  afterAll(async () => {
    await rm(fixtures, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Baresip.stopAll();
  });

  it('B calls A: A hears the 2 s tone B plays, gets B keys as RFC 4733 DTMF, and both see the BYE', async () => {
    const a = await Baresip.start({ name: 'alice', autoAnswer: true, record: true });
    const b = await Baresip.start({ name: 'bob', microphoneWav: tone8k });
    expect(a.uri).toBe(`sip:alice@127.0.0.1:${a.sipPort}`);

    await b.dial(a.uri);
    const [atA, atB] = await Promise.all([a.waitForEvent('CALL_ESTABLISHED'), b.waitForEvent('CALL_ESTABLISHED')]);
    expect(atA).toMatchObject({ direction: 'incoming', peeruri: 'sip:bob@127.0.0.1' });
    expect(atB).toMatchObject({ direction: 'outgoing', peeruri: a.uri });
    // The event id is the SIP Call-ID, the same on both sides.
    expect(atA.id).toBe(atB.id);
    // Auto answer still rings first (180, then 200).
    expect(b.events.map((e) => e.type)).toContain('CALL_RINGING');

    await b.sendDtmf('12#');
    expect(await a.waitForDtmf('12#')).toBe('12#');
    expect(await a.waitForEvent('CALL_DTMF_START')).toMatchObject({ param: '1', id: atA.id });
    await a.waitForEvent('CALL_DTMF_END');

    // Let the tone play out (B's microphone then sends silence) before B hangs up.
    await a.waitForHeardMs(2600);
    await b.hangup();
    const [closedA, closedB] = await Promise.all([a.waitForEvent('CALL_CLOSED'), b.waitForEvent('CALL_CLOSED')]);
    expect(closedA.param).toBe('Connection reset by peer');
    expect(closedB.param).toBe('Connection reset by user');

    const [heard, ...more] = await a.recordings();
    expect(more).toEqual([]);
    expect(heard).toMatch(/dump-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-dec\.wav$/);
    const audio = await analyseHeard(heard);
    expect(audio.sampleRate).toBe(8000);
    expect(audio.totalMs).toBeGreaterThanOrEqual(2600);
    expect(audio.audibleMs).toBeGreaterThanOrEqual(1800);
    expect(audio.audibleMs).toBeLessThanOrEqual(2200);
    // The tone is 0.5 of full scale, -9 dBFS (RMS of a sine: -3 dB below its peak of -6 dBFS).
    expect(audio.audibleDbfs).toBeGreaterThan(-10.5);
    expect(audio.audibleDbfs).toBeLessThan(-8);
    expect(audio.audibleHz).toBeGreaterThan(430);
    expect(audio.audibleHz).toBeLessThan(450);
  });

  it('A rings until answered; over TCP with G.722 A hears the 16 kHz tone at 16 kHz; A hangs up', async () => {
    const a = await Baresip.start({ name: 'alice', transport: 'tcp', codecs: ['G722'], record: true });
    const b = await Baresip.start({ name: 'bob', transport: 'tcp', codecs: ['G722', 'PCMU'], microphoneWav: tone16k });
    expect(a.uri).toBe(`sip:alice@127.0.0.1:${a.sipPort};transport=tcp`);

    await b.dial(a.uri);
    const incoming = await a.waitForEvent('CALL_INCOMING');
    expect(incoming.param).toBe('sip:bob@127.0.0.1');
    await b.waitForEvent('CALL_RINGING');
    expect(a.events.map((e) => e.type)).not.toContain('CALL_ESTABLISHED');
    await a.answer();
    await Promise.all([a.waitForEvent('CALL_ESTABLISHED'), b.waitForEvent('CALL_ESTABLISHED')]);

    await a.waitForHeardMs(1500);
    await a.hangup();
    expect((await b.waitForEvent('CALL_CLOSED')).param).toBe('Connection reset by peer');
    await a.waitForEvent('CALL_CLOSED');

    const audio = await analyseHeard((await a.recordings())[0]);
    expect(audio.sampleRate).toBe(16000);
    expect(audio.audibleMs).toBeGreaterThanOrEqual(900);
    expect(audio.audibleMs).toBeLessThanOrEqual(1100);
    expect(audio.audibleHz).toBeGreaterThan(950);
    expect(audio.audibleHz).toBeLessThan(1100);
  });

  it('a phone set to reject answers 486 Rejected (the only code baresip 1.0.0 sends); the caller sees it', async () => {
    const a = await Baresip.start({ name: 'alice', rejectWith: 486 });
    const b = await Baresip.start({ name: 'bob' });

    await b.dial(a.uri);
    const closed = await b.waitForEvent('CALL_CLOSED');
    expect(closed).toMatchObject({ param: '486 Rejected', direction: 'outgoing' });
    expect(b.events.map((e) => e.type)).not.toContain('CALL_ESTABLISHED');
    expect(await a.waitForEvent('CALL_CLOSED')).toMatchObject({ param: 'Connection reset by user', direction: 'incoming', id: closed.id });
  });

  it('a call to a user the phone does not have gets 404', async () => {
    const a = await Baresip.start({ name: 'alice', autoAnswer: true });
    const b = await Baresip.start({ name: 'bob' });

    await b.dial(`sip:nobody@127.0.0.1:${a.sipPort}`);
    expect((await b.waitForEvent('CALL_CLOSED')).param).toBe('404 Not Found');
    expect(a.events.map((e) => e.type)).not.toContain('CALL_ESTABLISHED');
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeWavFile } from '../../src/media/wav.js';
import { EspeakTtsProvider } from '../../src/speech/tts/espeak.js';
import { concatPcm } from '../../src/media/audio.js';
import { analyseHeard } from '../support/baresip-audio.js';
import { Baresip, BARESIP_AVAILABLE, BARESIP_SKIP_REASON } from '../support/baresip.js';
import { GREETING, SUPPORT, menuFlow, promptPlayed, spokenMs } from '../support/e2e-fixtures.js';
import { SIP_NUMBER, startSipE2e, type SipE2eSetup } from '../support/e2e-sip.js';

if (!BARESIP_AVAILABLE) console.warn(`skipping the SIP tests with a real phone: ${BARESIP_SKIP_REASON}`);

/** How much of `text`, spoken by the local TTS at `sampleRate`, is audible (the measure applied to what the phone recorded). */
async function audibleMsOf(text: string, sampleRate: 8000 | 16000, dir: string): Promise<number> {
  const chunks: Int16Array[] = [];
  for await (const chunk of new EspeakTtsProvider().synthesize({ text, language: 'en-US', sampleRate })) chunks.push(chunk);
  const path = join(dir, `tts-${sampleRate}-${text.length}.wav`);
  await writeWavFile(path, concatPcm(chunks), sampleRate);
  return (await analyseHeard(path)).audibleMs;
}

describe.skipIf(!BARESIP_AVAILABLE)(`a real SIP phone (baresip) calls Voxgate${BARESIP_AVAILABLE ? '' : ' (skipped: baresip not installed)'}`, () => {
  let e2e: SipE2eSetup;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-sip-e2e-'));
    e2e = await startSipE2e({ bots: [{ name: 'menu-bot', type: 'flow', flow: menuFlow }], routes: [{ number: SIP_NUMBER, bot: 'menu-bot' }] });
  });
  afterEach(() => Baresip.stopAll());
  afterAll(async () => {
    await e2e?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('hears the greeting, its RFC 4733 key changes the path, the bot hangs up with a BYE, and the record says so (PCMU over UDP)', async () => {
    const phone = await Baresip.start({ name: 'alice', codecs: ['PCMU'], record: true });
    const ended = e2e.nextCallEnded();
    const greetingPlayed = promptPlayed(e2e.gateway, GREETING);
    await phone.dial(e2e.uriFor(SIP_NUMBER));
    const established = await phone.waitForEvent('CALL_ESTABLISHED');
    const [greetingMs, supportMs] = await Promise.all([audibleMsOf(GREETING, 8000, dir), audibleMsOf(SUPPORT, 8000, dir)]);
    // The whole greeting has reached the phone before the key.
    await greetingPlayed;
    await phone.waitForHeardMs((await spokenMs(GREETING)) + 400);
    await phone.sendDtmf('2');
    const closed = await phone.waitForEvent('CALL_CLOSED', 20_000);
    expect(closed.param).toBe('Connection reset by peer'); // Voxgate's BYE
    const end = await ended;
    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });

    const [recording] = await phone.recordings();
    const heard = await analyseHeard(recording);
    expect(heard.sampleRate).toBe(8000);
    expect(heard.audibleDbfs).toBeGreaterThan(-30);
    // Greeting and answer, each heard in full: within 10 % of what the TTS produced.
    expect(heard.audibleMs).toBeGreaterThan((greetingMs + supportMs) * 0.9);
    expect(heard.audibleMs).toBeLessThan((greetingMs + supportMs) * 1.1);

    await e2e.gateway.records.flush();
    const record = await e2e.gateway.store.calls.getByCarrierCallId(String(established.id), 'sip');
    expect(record).toMatchObject({ carrier: 'sip', direction: 'inbound', from: 'alice', to: SIP_NUMBER, bot: 'menu-bot', hangupSide: 'gateway', endReason: 'bot-hangup' });
    expect((await e2e.gateway.store.dtmf.listForCall(record!.id)).map((d) => d.digit)).toEqual(['2']);
    const prompts = await e2e.gateway.store.prompts.listForCall(record!.id);
    expect(prompts.map((p) => [p.text, p.heardInFull])).toEqual([
      [GREETING, true],
      [SUPPORT, true],
    ]);
  });

  it('talks wideband G.722 over TCP, and a caller who hangs up ends the call as the caller', async () => {
    const phone = await Baresip.start({ name: 'bob', codecs: ['G722', 'PCMU'], transport: 'tcp', record: true });
    const ended = e2e.nextCallEnded();
    await phone.dial(e2e.uriFor(SIP_NUMBER, 'tcp'));
    const established = await phone.waitForEvent('CALL_ESTABLISHED');
    await phone.waitForHeardMs(1500);
    await phone.hangup();
    const end = await ended;
    expect(end).toMatchObject({ side: 'caller', reason: 'caller-hangup' });
    const [recording] = await phone.recordings();
    const heard = await analyseHeard(recording);
    expect(heard.sampleRate).toBe(16000);
    expect(heard.audibleMs).toBeGreaterThan(500);
    await e2e.gateway.records.flush();
    const record = await e2e.gateway.store.calls.getByCarrierCallId(String(established.id), 'sip');
    expect(record).toMatchObject({ carrier: 'sip', from: 'bob', hangupSide: 'caller' });
  });

  it('a phone that goes silent (its process frozen, no BYE) is hung up after the RTP timeout, and the record says why', async () => {
    const quick = await startSipE2e({ bots: [{ name: 'menu-bot', type: 'flow', flow: menuFlow }], routes: [{ number: SIP_NUMBER, bot: 'menu-bot' }] }, { rtp: { timeoutSec: 2 } });
    try {
      const phone = await Baresip.start({ name: 'dave', codecs: ['PCMU'] });
      const ended = quick.nextCallEnded();
      await phone.dial(quick.uriFor(SIP_NUMBER));
      const established = await phone.waitForEvent('CALL_ESTABLISHED');
      await phone.waitForEvent('CALL_RTPESTAB');
      phone.freeze();
      const end = await ended;
      expect(end).toMatchObject({ cause: 'No RTP received for 2 s (media timeout)', side: 'gateway' });
      phone.thaw();
      await quick.gateway.records.flush();
      const record = await quick.gateway.store.calls.getByCarrierCallId(String(established.id), 'sip');
      expect(record).toMatchObject({ hangupCause: 'No RTP received for 2 s (media timeout)', hangupSide: 'gateway' });
    } finally {
      await quick.close();
    }
  });

  it('a number no route takes is refused with 404 and leaves no call behind', async () => {
    const phone = await Baresip.start({ name: 'carol', codecs: ['PCMU'] });
    await phone.dial(e2e.uriFor('+19995550000'));
    const closed = await phone.waitForEvent('CALL_CLOSED');
    expect(closed.param).toMatch(/^404/);
    expect(e2e.gateway.calls.list()).toEqual([]);
  });
});

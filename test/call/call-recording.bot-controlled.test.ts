import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { concat, goertzelAmplitude, silence, synthesizeSpeech, tone } from '../support/media-signals.js';

const RATE = 8000;
const FRAME = 160;
const CALLER_HZ = 1000;
const BOT_HZ = 440; // the harness speaks every prompt as a 440 Hz tone
const ms = (n: number) => (n * RATE) / 1000;
type Ctx = Awaited<ReturnType<typeof startSession>>;

/** The caller's line: `durationMs` of a steady tone in 20 ms frames, in real time on the fake clock. */
async function callerTone(ctx: Ctx, durationMs: number): Promise<void> {
  await callerSays(ctx, tone(CALLER_HZ, RATE, ms(durationMs), 4000));
}

async function callerSays(ctx: Ctx, audio: Int16Array): Promise<void> {
  const frame = new Int16Array(FRAME); // the leg reuses its frame buffer, as carriers do
  for (let off = 0; off + FRAME <= audio.length; off += FRAME) {
    frame.set(audio.subarray(off, off + FRAME));
    ctx.clock.advance(20);
    ctx.leg.emit('audio', frame);
  }
  await settle();
}

async function botEvent(ctx: Ctx, name: string): Promise<void> {
  ctx.bot.say({ type: 'event', name });
  await settle();
}

async function readStereo(path: string): Promise<{ left: Int16Array; right: Int16Array; channels: number; dataBytes: number }> {
  const buf = await readFile(path);
  const n = (buf.length - 44) / 4;
  const left = new Int16Array(n);
  const right = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    left[i] = buf.readInt16LE(44 + i * 4);
    right[i] = buf.readInt16LE(46 + i * 4);
  }
  return { left, right, channels: buf.readUInt16LE(22), dataBytes: buf.readUInt32LE(40) };
}

/** Amplitude of `hz` over [fromMs, toMs) of a track. */
const level = (x: Int16Array, hz: number, fromMs: number, toMs: number) => goertzelAmplitude(x, hz, RATE, ms(fromMs), ms(toMs));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vg-recordings-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('call recording requested by the bot', () => {
  it('records from startCallRecording to stopCallRecording: caller on the left, the bot prompt on the right', async () => {
    const ctx = await startSession({ recordingsDir: dir });
    await botEvent(ctx, 'startCallRecording');
    const startedAt = ctx.clock.now();
    await callerTone(ctx, 500);
    ctx.bot.say({ text: 'Your balance is ten dollars.' }); // 1 s of prompt, heard from 500 ms on
    await settle();
    await callerTone(ctx, 1500);
    ctx.leg.playedAll();
    await botEvent(ctx, 'stopCallRecording');

    await vi.waitFor(() => expect(ctx.recordings()).toHaveLength(1), { timeout: 2000, interval: 5 });
    const [saved] = ctx.recordings();
    expect(saved).toEqual({ callId: 'call-1', path: join(dir, 'call-1-1.wav'), format: 'wav', sampleRate: RATE, channels: 2, startedAt, endedAt: startedAt + 2000, durationMs: 2000 });

    const wav = await readStereo(saved.path);
    expect(wav.channels).toBe(2);
    expect(wav.dataBytes).toBe(ms(2000) * 4);
    expect(level(wav.left, CALLER_HZ, 0, 2000)).toBeGreaterThan(3000);
    expect(level(wav.left, BOT_HZ, 0, 2000)).toBeLessThan(100);
    // The prompt is where the caller heard it: 500..1500 ms, silence around it.
    expect(level(wav.right, BOT_HZ, 520, 1480)).toBeGreaterThan(6000);
    expect(level(wav.right, BOT_HZ, 0, 500)).toBe(0);
    expect(level(wav.right, BOT_HZ, 1500, 2000)).toBe(0);
    expect(level(wav.right, CALLER_HZ, 0, 2000)).toBeLessThan(100);
    // The call goes on after the recording stopped.
    expect(ctx.session.endedWith).toBeUndefined();
  });

  it('makes one file per start/stop pair', async () => {
    const ctx = await startSession({ recordingsDir: dir });
    await botEvent(ctx, 'startCallRecording');
    await callerTone(ctx, 600);
    await botEvent(ctx, 'stopCallRecording');
    await callerTone(ctx, 1000); // not recorded
    await botEvent(ctx, 'startCallRecording');
    await botEvent(ctx, 'startCallRecording'); // a repeated start does not open a third file
    await callerTone(ctx, 400);
    await botEvent(ctx, 'stopCallRecording');
    await botEvent(ctx, 'stopCallRecording'); // nor does a repeated stop fail

    await vi.waitFor(() => expect(ctx.recordings()).toHaveLength(2), { timeout: 2000, interval: 5 });
    expect(ctx.recordings().map((r) => [r.path, r.durationMs])).toEqual([
      [join(dir, 'call-1-1.wav'), 600],
      [join(dir, 'call-1-2.wav'), 400],
    ]);
    expect((await readdir(dir)).sort()).toEqual(['call-1-1.wav', 'call-1-2.wav']);
    expect((await readStereo(join(dir, 'call-1-2.wav'))).dataBytes).toBe(ms(400) * 4);
  });

  it('leaves out what the caller said between pauseCallRecording and resumeCallRecording', async () => {
    const ctx = await startSession({ recordingsDir: dir });
    await botEvent(ctx, 'startCallRecording');
    await callerTone(ctx, 500);
    await botEvent(ctx, 'pauseCallRecording');
    await callerTone(ctx, 800); // the caller reads out a card number
    await botEvent(ctx, 'resumeCallRecording');
    await callerTone(ctx, 300);
    await botEvent(ctx, 'stopCallRecording');

    await vi.waitFor(() => expect(ctx.recordings()).toHaveLength(1), { timeout: 2000, interval: 5 });
    const [saved] = ctx.recordings();
    expect(saved.durationMs).toBe(800);
    expect(saved.endedAt - saved.startedAt).toBe(1600); // wall time still covers the whole stretch
    expect((await readStereo(saved.path)).dataBytes).toBe(ms(800) * 4);
  });

  it('refuses the request when no recordings directory is configured, and the call goes on', async () => {
    const ctx = await startSession();
    await botEvent(ctx, 'startCallRecording');
    await callerTone(ctx, 500);
    ctx.bot.say({ text: 'Still here.' });
    await settle();
    await botEvent(ctx, 'stopCallRecording');
    ctx.leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });
    await settle();
    expect(ctx.recordings()).toEqual([]);
    expect(ctx.audio.spoken.map((r) => r.text)).toEqual(['Still here.']);
    expect(ctx.session.endedWith).toMatchObject({ reason: 'caller-hangup' });
  });

  it('records the recording as failed (with the reason) when the recordings directory cannot be created, and the call goes on', async () => {
    const notADir = join(dir, 'occupied');
    await writeFile(notADir, 'a file where the directory should be');
    const ctx = await startSession({ recordingsDir: join(notADir, 'recordings') });
    await botEvent(ctx, 'startCallRecording');
    await callerTone(ctx, 300);
    await botEvent(ctx, 'stopCallRecording');
    ctx.bot.say({ text: 'Still here.' });
    await settle();
    ctx.leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });
    await settle();
    expect(ctx.recordings()).toEqual([expect.objectContaining({ status: 'failed', durationMs: 0, error: expect.stringMatching(/ENOTDIR|EEXIST/) })]);
    expect(ctx.providerErrors()).toEqual([expect.objectContaining({ kind: 'store', provider: 'recordings', error: expect.stringContaining(join(notADir, 'recordings')) })]);
    expect(ctx.audio.spoken.map((r) => r.text)).toEqual(['Still here.']);
    expect(ctx.session.endedWith).toMatchObject({ reason: 'caller-hangup' });
  });
});

describe('recordCall setting', () => {
  it('records from the start, including the greeting, and the end of the call closes the file', async () => {
    const ctx = await startSession({ recordingsDir: dir, settings: { recordCall: true }, greeting: [{ text: 'Welcome to the bank.' }] });
    await callerTone(ctx, 1500);
    ctx.leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });

    await vi.waitFor(() => expect(ctx.recordings()).toHaveLength(1), { timeout: 2000, interval: 5 });
    const [saved] = ctx.recordings();
    expect(saved).toMatchObject({ path: join(dir, 'call-1-1.wav'), durationMs: 1500 });
    expect(existsSync(saved.path)).toBe(true);
    const wav = await readStereo(saved.path);
    expect(wav.dataBytes).toBe(ms(1500) * 4);
    expect(level(wav.right, BOT_HZ, 0, 1000)).toBeGreaterThan(6000); // the greeting, heard first
    expect(level(wav.right, BOT_HZ, 1000, 1500)).toBe(0);
    expect(level(wav.left, CALLER_HZ, 0, 1500)).toBeGreaterThan(3000);
  });

  it('keeps only the part of a prompt the caller heard before barging in', async () => {
    const text = 'Please listen to all of our options.';
    const ctx = await startSession({ recordingsDir: dir, settings: { recordCall: true, bargeIn: true, bargeInMinSpeechMs: 200 }, greeting: [{ text }], durationsMs: { [text]: 8000 } });
    const speech = await synthesizeSpeech('Operator, please. I need to talk to a person.', RATE);
    const pad = 5000 - speech.length / 8; // five seconds of caller audio in all
    await callerSays(ctx, concat(speech, silence(pad, RATE))); // the caller talks over the prompt: barge-in clears it
    expect(ctx.leg.count('clear')).toBe(1);
    const cutAtMs = ctx.prompts()[0].endedAt - ctx.prompts()[0].startedAt;
    expect(cutAtMs).toBeGreaterThan(200);
    expect(cutAtMs).toBeLessThan(800);
    ctx.leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });

    await vi.waitFor(() => expect(ctx.recordings()).toHaveLength(1), { timeout: 2000, interval: 5 });
    const wav = await readStereo(ctx.recordings()[0].path);
    expect(wav.dataBytes).toBe(ms(5000) * 4);
    expect(level(wav.right, BOT_HZ, 0, cutAtMs)).toBeGreaterThan(6000); // what was heard up to the barge-in
    expect(level(wav.right, BOT_HZ, cutAtMs, 5000)).toBe(0); // the other 7 s of the prompt never played
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WriteStream } from 'node:fs';
import { CallRecorder } from '../../src/media/call-recorder.js';
import { frames, goertzelAmplitude, tone } from '../support/media-signals.js';

const RATE = 8000;
const ms = (n: number) => (n * RATE) / 1000;

interface StereoWav {
  channels: number;
  sampleRate: number;
  riffSize: number;
  dataBytes: number;
  fileBytes: number;
  left: Int16Array;
  right: Int16Array;
}

/** Reads the file's header fields and de-interleaves its samples (parseWav would downmix them). */
async function readStereo(path: string): Promise<StereoWav> {
  const buf = await readFile(path);
  const n = (buf.length - 44) / 4;
  const left = new Int16Array(n);
  const right = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    left[i] = buf.readInt16LE(44 + i * 4);
    right[i] = buf.readInt16LE(46 + i * 4);
  }
  expect(buf.toString('ascii', 0, 4)).toBe('RIFF');
  expect(buf.toString('ascii', 8, 12)).toBe('WAVE');
  expect(buf.toString('ascii', 36, 40)).toBe('data');
  return { channels: buf.readUInt16LE(22), sampleRate: buf.readUInt32LE(24), riffSize: buf.readUInt32LE(4), dataBytes: buf.readUInt32LE(40), fileBytes: buf.length, left, right };
}

/** Caller frames as the carrier delivers them: 20 ms at a time. */
function feedCaller(rec: CallRecorder, samples: Int16Array): void {
  for (const f of frames(samples, RATE)) rec.callerAudio(f);
}

/** A bot "prompt" whose samples are easy to recognize: a ramp starting at `base`. */
function ramp(base: number, samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = base + (i % 1000);
  return out;
}

const isSilent = (x: Int16Array) => x.every((s) => s === 0);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vg-recorder-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CallRecorder: the stereo WAV of a call', () => {
  it('writes a valid stereo WAV whose header sizes match the data, caller left and bot right', async () => {
    const rec = new CallRecorder(join(dir, 'a.wav'), RATE);
    const caller = tone(300, RATE, ms(1500));
    const bot = tone(1000, RATE, ms(500));
    feedCaller(rec, caller.subarray(0, ms(500)));
    rec.botAudio(bot);
    feedCaller(rec, caller.subarray(ms(500)));
    const file = await rec.stop();

    expect(file).toEqual({ path: join(dir, 'a.wav'), sampleRate: RATE, channels: 2, durationMs: 1500 });
    const wav = await readStereo(file.path);
    expect(wav.channels).toBe(2);
    expect(wav.sampleRate).toBe(RATE);
    expect(wav.dataBytes).toBe(wav.fileBytes - 44);
    expect(wav.dataBytes).toBe(ms(1500) * 4);
    expect(wav.riffSize).toBe(36 + wav.dataBytes);
    // The caller's 300 Hz tone is on the left only; the bot's 1 kHz prompt is on the right, where it played.
    expect(wav.left).toEqual(caller);
    expect(goertzelAmplitude(wav.left, 1000, RATE)).toBeLessThan(50);
    expect(wav.right.subarray(ms(500), ms(1000))).toEqual(bot);
    expect(isSilent(wav.right.subarray(0, ms(500)))).toBe(true);
    expect(isSilent(wav.right.subarray(ms(1000)))).toBe(true);
  });

  it('plays two prompts handed over back to back one after the other, not on top of each other', async () => {
    const rec = new CallRecorder(join(dir, 'b.wav'), RATE);
    const first = ramp(1000, ms(400));
    const second = ramp(5000, ms(300));
    rec.botAudio(first);
    rec.botAudio(second);
    feedCaller(rec, new Int16Array(ms(1000)));
    const wav = await readStereo((await rec.stop()).path);
    expect(wav.right.subarray(0, ms(400))).toEqual(first);
    expect(wav.right.subarray(ms(400), ms(700))).toEqual(second);
    expect(isSilent(wav.right.subarray(ms(700)))).toBe(true);
  });

  it('places a prompt handed over while another still plays after it', async () => {
    const rec = new CallRecorder(join(dir, 'c.wav'), RATE);
    const first = ramp(1000, ms(600));
    const second = ramp(5000, ms(200));
    rec.botAudio(first);
    feedCaller(rec, new Int16Array(ms(200))); // 400 ms of the first prompt are still queued at the carrier
    rec.botAudio(second);
    feedCaller(rec, new Int16Array(ms(800)));
    const wav = await readStereo((await rec.stop()).path);
    expect(wav.right.subarray(0, ms(600))).toEqual(first);
    expect(wav.right.subarray(ms(600), ms(800))).toEqual(second);
  });

  it('botCleared() drops the bot audio that had not played yet but keeps what the caller already heard', async () => {
    const rec = new CallRecorder(join(dir, 'd.wav'), RATE);
    const prompt = ramp(2000, ms(1000));
    feedCaller(rec, new Int16Array(ms(500)));
    rec.botAudio(prompt); // plays from 500 ms to 1500 ms
    feedCaller(rec, new Int16Array(ms(300)));
    rec.botCleared(); // barge-in at 800 ms
    feedCaller(rec, new Int16Array(ms(200)));
    const next = ramp(9000, ms(100));
    rec.botAudio(next); // the next prompt starts now (1000 ms), not after the cleared one
    feedCaller(rec, new Int16Array(ms(1000)));
    const wav = await readStereo((await rec.stop()).path);
    expect(wav.right.subarray(ms(500), ms(800))).toEqual(prompt.subarray(0, ms(300)));
    expect(isSilent(wav.right.subarray(ms(800), ms(1000)))).toBe(true);
    expect(wav.right.subarray(ms(1000), ms(1100))).toEqual(next);
    expect(isSilent(wav.right.subarray(ms(1100)))).toBe(true);
  });

  it('leaves the paused stretch out of the file and drops bot audio queued before the pause', async () => {
    const rec = new CallRecorder(join(dir, 'e.wav'), RATE);
    const before = tone(300, RATE, ms(500));
    const secret = tone(700, RATE, ms(600)); // e.g. the caller reading a card number
    const after = tone(1100, RATE, ms(400));
    const prompt = ramp(3000, ms(1000));
    feedCaller(rec, before.subarray(0, ms(300)));
    rec.botAudio(prompt); // plays from 300 ms; 200 ms of it are heard before the pause
    feedCaller(rec, before.subarray(ms(300)));
    rec.pause();
    expect(rec.isPaused).toBe(true);
    feedCaller(rec, secret);
    rec.botAudio(ramp(7000, ms(200))); // spoken while paused: not recorded either
    rec.resume();
    feedCaller(rec, after);
    const file = await rec.stop();

    expect(file.durationMs).toBe(900); // 1.5 s of call, 600 ms of it paused
    const wav = await readStereo(file.path);
    expect(wav.left.length).toBe(ms(900));
    expect(wav.left.subarray(0, ms(500))).toEqual(before);
    expect(wav.left.subarray(ms(500))).toEqual(after);
    expect(goertzelAmplitude(wav.left, 700, RATE)).toBeLessThan(100);
    expect(wav.right.subarray(ms(300), ms(500))).toEqual(prompt.subarray(0, ms(200)));
    expect(isSilent(wav.right.subarray(ms(500)))).toBe(true);
  });

  it('can be stopped twice: both calls resolve once the file is complete, with the same result', async () => {
    const rec = new CallRecorder(join(dir, 'f.wav'), RATE);
    feedCaller(rec, tone(300, RATE, ms(1000)));
    const first = rec.stop();
    const second = await rec.stop();
    // The second caller may read the file at once: its header must already be patched.
    const wav = await readStereo(second.path);
    expect(wav.dataBytes).toBe(ms(1000) * 4);
    expect(await first).toEqual(second);
    expect(second.durationMs).toBe(1000);
    rec.callerAudio(new Int16Array(160)); // audio after the stop is ignored, not an error
    expect(await rec.stop()).toEqual(second);
    expect((await stat(second.path)).size).toBe(44 + ms(1000) * 4);
  });

  it('writes a long recording to the file as it goes, not only on stop()', async () => {
    const path = join(dir, 'g.wav');
    const rec = new CallRecorder(path, RATE);
    feedCaller(rec, tone(300, RATE, ms(3000)));
    // At least the first two completed seconds reach the disk while the call is still running.
    await vi.waitFor(async () => expect((await stat(path)).size).toBeGreaterThanOrEqual(44 + ms(2000) * 4), { timeout: 2000, interval: 5 });
    const file = await rec.stop();
    expect((await stat(path)).size).toBe(44 + ms(3000) * 4);
    expect(file.durationMs).toBe(3000);
  });

  it('rejects stop() with the file system error when the file cannot be created, instead of hanging', async () => {
    const rec = new CallRecorder(join(dir, 'missing', 'h.wav'), RATE);
    feedCaller(rec, tone(300, RATE, ms(200)));
    // Let the failed open surface before stopping, as it does during a real call.
    const out = (rec as unknown as { out: WriteStream }).out;
    await vi.waitFor(() => expect(out.destroyed).toBe(true), { timeout: 2000, interval: 5 });
    await expect(rec.stop()).rejects.toThrow(/ENOENT/);
  });
});
